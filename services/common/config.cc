#include "services/common/config.h"

namespace kiln {

void AddServiceOptions(CLI::App& app, ServiceConfig& config, const std::string& default_listen) {
  config.listen = default_listen;
  AddOption(app, "listen", config.listen, "KILN_LISTEN",
            "gRPC listen address host:port (port 0 picks a free port)");
  AddOption(app, "tokens", config.tokens, "KILN_TOKENS",
            "bearer tokens as comma-separated role:token pairs; roles: reader, writer, admin");
  AddOption(app, "tokens-file", config.tokens_file, "KILN_TOKENS_FILE",
            "file with one role:token pair per line (# comments), added to --tokens");
  app.add_flag("--public-reads", config.public_reads,
               "let read RPCs through without a token")
      ->envname("KILN_PUBLIC_READS");
  app.add_flag("--no-auth", config.no_auth,
               "accept every RPC without a token (local experiments only)")
      ->envname("KILN_NO_AUTH");
  AddOption(app, "log-level", config.log_level, "KILN_LOG_LEVEL", "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  AddOption(app, "log-format", config.log_format, "KILN_LOG_FORMAT",
            "text (one readable line per message) or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  AddOption(app, "shutdown-grace", config.shutdown_grace_seconds, "KILN_SHUTDOWN_GRACE",
            "seconds to let RPCs in flight finish on SIGTERM")
      ->check(CLI::Range(0, 3600));
}

void AddDatabaseOptions(CLI::App& app, DatabaseConfig& config) {
  AddOption(app, "database-url", config.url, "KILN_DATABASE_URL",
            "PostgreSQL URI, e.g. postgresql://kiln@127.0.0.1:5432/kiln")
      ->required();
  AddOption(app, "database-pool-size", config.pool_size, "KILN_DATABASE_POOL_SIZE",
            "PostgreSQL connections kept open")
      ->check(CLI::Range(1, 256));
  AddOption(app, "database-connect-timeout", config.connect_timeout_seconds,
            "KILN_DATABASE_CONNECT_TIMEOUT", "seconds to wait for PostgreSQL at start")
      ->check(CLI::Range(0, 3600));
}

void AddClientOptions(CLI::App& app, ClientConfig& config) {
  AddOption(app, "token", config.token, "KILN_TOKEN",
            "bearer token presented to other Kiln services");
}

}  // namespace kiln
