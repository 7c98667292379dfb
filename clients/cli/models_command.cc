// kiln models list|show and kiln promote: the registry's models, versions
// and aliases.
#include <iostream>

#include "absl/status/statusor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/metric_requirement.h"
#include "clients/cli/table.h"
#include "kiln/v1/registry.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/proto_json.h"

namespace kiln::cli {
namespace {

std::unique_ptr<kiln::v1::RegistryService::Stub> Stub(const CliContext& context) {
  return kiln::v1::RegistryService::NewStub(MakeChannel(context.registry_address));
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "kiln " << what << ": " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ? 3 : 1;
}

std::string Metric(const kiln::v1::ModelVersion& version, const std::string& name) {
  auto it = version.metrics().find(name);
  return it == version.metrics().end() ? "-" : absl::StrFormat("%.4f", it->second);
}

std::string Encoding(kiln::v1::WeightEncoding encoding) {
  switch (encoding) {
    case kiln::v1::WEIGHT_ENCODING_FLOAT16: return "float16";
    case kiln::v1::WEIGHT_ENCODING_UINT8: return "uint8";
    default: return "float32";
  }
}

int List(const CliContext& context) {
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::ListModelsResponse response;
  if (auto status = Stub(context)->ListModels(&call, {}, &response); !status.ok()) {
    return Fail("models list", status);
  }
  if (context.json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"MODEL", "VERSIONS", "LATEST", "ALIASES", "CREATED"});
  for (const auto& model : response.models()) {
    std::vector<std::string> aliases;
    for (const auto& alias : model.aliases()) {
      aliases.push_back(absl::StrCat(alias.name(), "=", alias.version()));
    }
    table.AddRow({model.name(), absl::StrCat(model.version_count()),
                  absl::StrCat(model.latest_version()), absl::StrJoin(aliases, " "),
                  FormatTime(model.created_at().seconds())});
  }
  table.Print(std::cout);
  return 0;
}

int Show(const CliContext& context, const std::string& name) {
  auto stub = Stub(context);
  kiln::v1::Model model;
  {
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    kiln::v1::GetModelRequest request;
    request.set_name(name);
    if (auto status = stub->GetModel(&call, request, &model); !status.ok()) {
      return Fail("models show", status);
    }
  }
  kiln::v1::ListVersionsResponse versions;
  {
    grpc::ClientContext call;
    PrepareContext(call, context.token, absl::Seconds(30));
    kiln::v1::ListVersionsRequest request;
    request.set_model(name);
    request.set_page_size(500);
    if (auto status = stub->ListVersions(&call, request, &versions); !status.ok()) {
      return Fail("models show", status);
    }
  }
  if (context.json) {
    std::cout << "{\"model\":" << ToJson(model) << ",\"versions\":" << ToJson(versions) << "}\n";
    return 0;
  }
  Table table({"VERSION", "RECALL@1", "RECALL@3", "RECALL@5", "WEIGHTS", "SIZE", "ALIASES", "JOB",
               "CREATED"});
  for (const auto& version : versions.versions()) {
    table.AddRow({absl::StrCat(version.version()), Metric(version, "recall@1"),
                  Metric(version, "recall@3"), Metric(version, "recall@5"),
                  Encoding(version.weight_encoding()),
                  absl::StrFormat("%.1f MiB", version.size_bytes() / 1048576.0),
                  absl::StrJoin(version.aliases(), ","), version.lineage().job_id(),
                  FormatTime(version.created_at().seconds())});
  }
  std::cout << model.name() << ": " << model.version_count() << " version(s)\n";
  table.Print(std::cout);
  return 0;
}

int Promote(const CliContext& context, const std::string& model, int64_t version,
            const std::string& alias, const std::vector<std::string>& requirements) {
  kiln::v1::SetAliasRequest request;
  request.set_model(model);
  request.set_version(version);
  request.set_alias(alias);
  for (const std::string& text : requirements) {
    absl::StatusOr<kiln::v1::MetricRequirement> requirement = ParseRequirement(text);
    if (!requirement.ok()) {
      std::cerr << "kiln promote: " << requirement.status().message() << "\n";
      return 2;
    }
    *request.add_requirements() = *requirement;
  }
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::Alias moved;
  if (auto status = Stub(context)->SetAlias(&call, request, &moved); !status.ok()) {
    return Fail("promote", status);
  }
  if (context.json) {
    std::cout << ToJson(moved) << "\n";
  } else {
    std::cout << moved.model() << "@" << moved.name() << " -> version " << moved.version() << "\n";
  }
  return 0;
}

}  // namespace

void AddModelsCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* models = app.add_subcommand("models", "models and versions in the registry");
  models->require_subcommand(1);
  models->add_subcommand("list", "every model")->callback([&context, &run] {
    run = [&context] { return List(context); };
  });
  auto name = std::make_shared<std::string>();
  auto* show = models->add_subcommand("show", "a model's versions, metrics and aliases");
  show->add_option("model", *name, "model name")->required();
  show->callback([&context, &run, name] { run = [&context, name] { return Show(context, *name); }; });

  auto* promote = app.add_subcommand(
      "promote", "point an alias at a version, optionally gated on metrics (exit 3 if refused)");
  auto model = std::make_shared<std::string>();
  auto version = std::make_shared<int64_t>(0);
  auto alias = std::make_shared<std::string>("production");
  auto requirements = std::make_shared<std::vector<std::string>>();
  promote->add_option("model", *model, "model name")->required();
  promote->add_option("version", *version, "version number")->required()->check(CLI::PositiveNumber);
  promote->add_option("--alias", *alias, "alias to move")->capture_default_str();
  promote->add_option("--require", *requirements, "e.g. 'recall@1>=0.85' (repeatable)");
  promote->callback([&context, &run, model, version, alias, requirements] {
    run = [&context, model, version, alias, requirements] {
      return Promote(context, *model, *version, *alias, *requirements);
    };
  });
}

}  // namespace kiln::cli
