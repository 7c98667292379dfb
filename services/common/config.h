// Configuration shared by every Kiln program. Each option comes from its
// command-line flag, else its KILN_* environment variable, else its default;
// `--help` lists every flag with its variable.
#pragma once

#include <string>

#include "CLI/CLI.hpp"

namespace kiln {

// What every gRPC service needs.
struct ServiceConfig {
  std::string listen;
  std::string tokens;
  std::string tokens_file;
  bool public_reads = false;
  bool no_auth = false;
  std::string log_level = "info";
  std::string log_format = "text";
  int shutdown_grace_seconds = 10;
};

// PostgreSQL settings of services that own a schema.
struct DatabaseConfig {
  std::string url;
  int pool_size = 8;
  int connect_timeout_seconds = 10;
};

// How a program calls other Kiln services.
struct ClientConfig {
  // Bearer token presented to other services.
  std::string token;
};

void AddServiceOptions(CLI::App& app, ServiceConfig& config, const std::string& default_listen);
void AddDatabaseOptions(CLI::App& app, DatabaseConfig& config);
void AddClientOptions(CLI::App& app, ClientConfig& config);

// Adds `--<flag>` bound to `value`, read from `env` when the flag is absent.
// One place decides how Kiln options look, so every binary's --help agrees.
template <typename T>
CLI::Option* AddOption(CLI::App& app, const std::string& flag, T& value, const std::string& env,
                       const std::string& help) {
  return app.add_option("--" + flag, value, help)->envname(env)->capture_default_str();
}

}  // namespace kiln
