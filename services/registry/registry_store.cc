#include "services/registry/registry_store.h"

#include <map>
#include <set>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/common/db/transaction.h"
#include "services/common/status.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

using nlohmann::json;

// Publishes hold it shared and deletes exclusively (transaction-scoped
// advisory lock), so a delete never removes a blob that a publish in
// flight found stored and is about to reference.
constexpr int64_t kBlobLock = 0x6b696c6e2d726567;  // "kiln-reg"

constexpr char kVersionColumns[] =
    "v.version, extract(epoch FROM v.created_at), v.manifest_sha256, v.size_bytes, "
    "v.metrics::text, v.lineage::text, v.weight_encoding, array_to_json(v.classes)::text, "
    "v.description";

// A PostgreSQL text[] literal. Elements are quoted and escaped, so any text
// (the paths here are validated anyway) comes through unchanged.
std::string TextArray(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) {
    std::string element = "\"";
    for (char c : item) {
      if (c == '"' || c == '\\') element.push_back('\\');
      element.push_back(c);
    }
    element.push_back('"');
    quoted.push_back(std::move(element));
  }
  return absl::StrCat("{", absl::StrJoin(quoted, ","), "}");
}

void SetTimestamp(double epoch_seconds, google::protobuf::Timestamp* timestamp) {
  const auto seconds = static_cast<int64_t>(epoch_seconds);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>((epoch_seconds - seconds) * 1e9));
}

kiln::v1::WeightEncoding WeightEncodingFromName(const std::string& name) {
  if (name == "float16") return kiln::v1::WEIGHT_ENCODING_FLOAT16;
  if (name == "uint8") return kiln::v1::WEIGHT_ENCODING_UINT8;
  return kiln::v1::WEIGHT_ENCODING_FLOAT32;
}

std::string MetricsJson(const std::map<std::string, double>& metrics) {
  return json(metrics).dump();
}

// Fills a version from a row of kVersionColumns (then manifest_json when
// `with_manifest`). The JSON columns were written by Publish from valid
// values, so they parse.
void FillVersion(const std::string& model, const pqxx::row& row, bool with_manifest,
                 kiln::v1::ModelVersion* version) {
  version->set_model(model);
  version->set_version(row[0].as<int64_t>());
  SetTimestamp(row[1].as<double>(), version->mutable_created_at());
  version->set_manifest_sha256(row[2].as<std::string>());
  version->set_size_bytes(row[3].as<int64_t>());
  const json metrics = json::parse(row[4].as<std::string>(), nullptr, false);
  if (metrics.is_object()) {
    for (const auto& [name, value] : metrics.items()) {
      if (value.is_number()) (*version->mutable_metrics())[name] = value.get<double>();
    }
  }
  (void)google::protobuf::util::JsonStringToMessage(row[5].as<std::string>(),
                                                    version->mutable_lineage());
  version->set_weight_encoding(WeightEncodingFromName(row[6].as<std::string>()));
  const json classes = json::parse(row[7].as<std::string>(), nullptr, false);
  if (classes.is_array()) {
    for (const json& name : classes) version->add_classes(name.get<std::string>());
  }
  version->set_description(row[8].as<std::string>());
  if (with_manifest) version->set_manifest_json(row[9].as<std::string>());
}

absl::Status ModelNotFound(const std::string& model) {
  return absl::NotFoundError(absl::StrCat("no model \"", model, "\""));
}

bool ModelExists(pqxx::work& tx, const std::string& model) {
  return !tx.exec_params("SELECT 1 FROM registry.models WHERE name = $1", model).empty();
}

// The versions of `model` matching `condition` (built from integers only),
// newest first, with their files and aliases.
std::vector<kiln::v1::ModelVersion> SelectVersions(pqxx::work& tx, const std::string& model,
                                                   const std::string& condition, int limit,
                                                   bool with_manifest) {
  std::vector<kiln::v1::ModelVersion> versions;
  const pqxx::result rows = tx.exec_params(
      absl::StrCat("SELECT ", kVersionColumns, with_manifest ? ", v.manifest_json" : "",
                   " FROM registry.versions v WHERE v.model = $1 AND ", condition,
                   " ORDER BY v.version DESC LIMIT ", limit),
      model);
  if (rows.empty()) return versions;
  std::map<int64_t, kiln::v1::ModelVersion*> by_number;
  versions.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    FillVersion(model, rows[i], with_manifest, &versions[i]);
    by_number[versions[i].version()] = &versions[i];
  }
  const std::string range = absl::StrCat("f.version BETWEEN ", by_number.begin()->first, " AND ",
                                         by_number.rbegin()->first);
  for (const auto& row : tx.exec_params(
           absl::StrCat("SELECT f.version, f.path, f.sha256, b.size_bytes FROM "
                        "registry.version_files f JOIN registry.blobs b USING (sha256) "
                        "WHERE f.model = $1 AND ",
                        range, " ORDER BY f.version, f.path"),
           model)) {
    const auto version = by_number.find(row[0].as<int64_t>());
    if (version == by_number.end()) continue;
    kiln::v1::FileDigest* file = version->second->add_files();
    file->set_path(row[1].as<std::string>());
    file->set_sha256(row[2].as<std::string>());
    file->set_size(row[3].as<int64_t>());
  }
  for (const auto& row : tx.exec_params(
           "SELECT version, name FROM registry.aliases WHERE model = $1 ORDER BY name", model)) {
    const auto version = by_number.find(row[0].as<int64_t>());
    if (version != by_number.end()) version->second->add_aliases(row[1].as<std::string>());
  }
  return versions;
}

void FillAlias(const std::string& model, const pqxx::row& row, kiln::v1::Alias* alias) {
  alias->set_model(model);
  alias->set_name(row[0].as<std::string>());
  alias->set_version(row[1].as<int64_t>());
  SetTimestamp(row[2].as<double>(), alias->mutable_updated_at());
}

}  // namespace

absl::StatusOr<kiln::v1::ModelVersion> RegistryStore::Publish(const NewVersion& version) {
  // Identical files within the bundle are one blob.
  std::map<std::string, const std::string*> blobs;
  std::vector<std::string> paths, hashes;
  int64_t size_bytes = static_cast<int64_t>(version.manifest_json.size());
  for (const kiln::v1::FileDigest& file : version.manifest.files) {
    blobs.emplace(file.sha256(), &version.contents.at(file.path()));
    paths.push_back(file.path());
    hashes.push_back(file.sha256());
    size_bytes += file.size();
  }
  std::vector<std::string> distinct_hashes;
  for (const auto& [sha256, bytes] : blobs) distinct_hashes.push_back(sha256);
  kiln::v1::Lineage lineage = version.lineage;
  if (lineage.preprocess_spec_version().empty()) {
    lineage.set_preprocess_spec_version(version.manifest.preprocess_spec_version);
  }
  std::string lineage_json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (auto status = google::protobuf::util::MessageToJsonString(lineage, &lineage_json, options);
      !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("lineage: ", status.ToString()));
  }
  const char* encoding = WeightEncodingName(version.manifest.weight_encoding);

  kiln::v1::ModelVersion stored;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    stored.Clear();
    tx.exec_params("SELECT pg_advisory_xact_lock_shared($1)", kBlobLock);
    std::set<std::string> present;
    for (const auto& row :
         tx.exec_params("SELECT sha256 FROM registry.blobs WHERE sha256 = ANY($1::text[])",
                        TextArray(distinct_hashes))) {
      present.insert(row[0].as<std::string>());
    }
    // The model row is locked from here to the commit, which serializes
    // publishes of one model and hands them consecutive numbers.
    tx.exec_params("INSERT INTO registry.models (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                   version.model);
    tx.exec_params("SELECT 1 FROM registry.models WHERE name = $1 FOR UPDATE", version.model);
    // One version per training job: a job retried after its publish (its
    // worker lost the lease before reporting) gets that version back, and
    // neither a second version nor a second move of `latest` happens.
    if (!lineage.job_id().empty()) {
      const pqxx::result published = tx.exec_params(
          "SELECT version FROM registry.versions WHERE model = $1 AND lineage->>'job_id' = $2 "
          "ORDER BY version LIMIT 1",
          version.model, lineage.job_id());
      if (!published.empty()) {
        std::vector<kiln::v1::ModelVersion> found = SelectVersions(
            tx, version.model, absl::StrCat("v.version = ", published[0][0].as<int64_t>()), 1,
            /*with_manifest=*/true);
        stored = std::move(found.at(0));
        return absl::OkStatus();
      }
    }
    for (const auto& [sha256, bytes] : blobs) {
      if (present.count(sha256) != 0) continue;
      // Another publish may store the same new blob concurrently.
      tx.exec_params(
          "INSERT INTO registry.blobs (sha256, size_bytes, data) VALUES ($1, $2, $3) "
          "ON CONFLICT (sha256) DO NOTHING",
          sha256, static_cast<int64_t>(bytes->size()),
          pqxx::binarystring(bytes->data(), bytes->size()));
    }
    const int64_t number =
        tx.exec_params1(
              "UPDATE registry.models SET last_version = last_version + 1 WHERE name = $1 "
              "RETURNING last_version",
              version.model)[0]
            .as<int64_t>();
    tx.exec_params(
        "INSERT INTO registry.versions (model, version, manifest_json, manifest_sha256, "
        "size_bytes, metrics, lineage, weight_encoding, classes, description) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9::text[], $10)",
        version.model, number, version.manifest_json, version.manifest_sha256, size_bytes,
        MetricsJson(version.metrics), lineage_json, encoding,
        TextArray(version.manifest.classes), version.description);
    tx.exec_params(
        "INSERT INTO registry.version_files (model, version, path, sha256) "
        "SELECT $1, $2, path, sha256 FROM unnest($3::text[], $4::text[]) AS f(path, sha256)",
        version.model, number, TextArray(paths), TextArray(hashes));
    tx.exec_params(
        "INSERT INTO registry.aliases (model, name, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (model, name) DO UPDATE SET version = EXCLUDED.version, updated_at = now()",
        version.model, kLatestAlias, number);
    std::vector<kiln::v1::ModelVersion> found = SelectVersions(
        tx, version.model, absl::StrCat("v.version = ", number), 1, /*with_manifest=*/true);
    stored = std::move(found.at(0));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return stored;
}

absl::StatusOr<std::vector<kiln::v1::Model>> RegistryStore::ListModels() {
  std::vector<kiln::v1::Model> models;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    models.clear();
    std::map<std::string, kiln::v1::Model*> by_name;
    const pqxx::result rows = tx.exec(
        "SELECT m.name, extract(epoch FROM m.created_at), count(v.version), "
        "coalesce(max(v.version), 0) FROM registry.models m "
        "LEFT JOIN registry.versions v ON v.model = m.name "
        "GROUP BY m.name, m.created_at ORDER BY m.name");
    models.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      kiln::v1::Model& model = models[i];
      model.set_name(rows[i][0].as<std::string>());
      SetTimestamp(rows[i][1].as<double>(), model.mutable_created_at());
      model.set_version_count(rows[i][2].as<int64_t>());
      model.set_latest_version(rows[i][3].as<int64_t>());
      by_name[model.name()] = &model;
    }
    for (const auto& row : tx.exec(
             "SELECT model, name, version, extract(epoch FROM updated_at) "
             "FROM registry.aliases ORDER BY model, name")) {
      const auto model = by_name.find(row[0].as<std::string>());
      if (model == by_name.end()) continue;  // created after the first query
      FillAlias(model->first, row.slice(1, 4), model->second->add_aliases());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return models;
}

absl::StatusOr<kiln::v1::Model> RegistryStore::GetModel(const std::string& name) {
  kiln::v1::Model model;
  bool found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    model.Clear();
    const pqxx::result rows = tx.exec_params(
        "SELECT extract(epoch FROM m.created_at), "
        "(SELECT count(*) FROM registry.versions WHERE model = m.name), "
        "(SELECT coalesce(max(version), 0) FROM registry.versions WHERE model = m.name) "
        "FROM registry.models m WHERE m.name = $1",
        name);
    found = !rows.empty();
    if (!found) return absl::OkStatus();
    model.set_name(name);
    SetTimestamp(rows[0][0].as<double>(), model.mutable_created_at());
    model.set_version_count(rows[0][1].as<int64_t>());
    model.set_latest_version(rows[0][2].as<int64_t>());
    for (const auto& row : tx.exec_params(
             "SELECT name, version, extract(epoch FROM updated_at) FROM registry.aliases "
             "WHERE model = $1 ORDER BY name",
             name)) {
      FillAlias(name, row, model.add_aliases());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) return ModelNotFound(name);
  return model;
}

absl::StatusOr<RegistryStore::VersionPage> RegistryStore::ListVersions(const std::string& model,
                                                                       int page_size,
                                                                       int64_t before) {
  VersionPage page;
  bool found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    page = VersionPage();
    found = ModelExists(tx, model);
    if (!found) return absl::OkStatus();
    const std::string condition =
        before > 0 ? absl::StrCat("v.version < ", before) : std::string("true");
    // One more than asked tells whether another page follows.
    page.versions = SelectVersions(tx, model, condition, page_size + 1, /*with_manifest=*/false);
    if (static_cast<int>(page.versions.size()) > page_size) {
      page.versions.resize(page_size);
      page.next_before = page.versions.back().version();
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) return ModelNotFound(model);
  return page;
}

absl::StatusOr<int64_t> RegistryStore::ResolveAlias(const std::string& model,
                                                    const std::string& alias) {
  int64_t version = 0;
  bool model_found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    version = 0;
    const pqxx::result rows = tx.exec_params(
        "SELECT version FROM registry.aliases WHERE model = $1 AND name = $2", model, alias);
    if (!rows.empty()) {
      version = rows[0][0].as<int64_t>();
      model_found = true;
    } else {
      model_found = ModelExists(tx, model);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!model_found) return ModelNotFound(model);
  if (version == 0) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no alias \"", alias, "\""));
  }
  return version;
}

absl::StatusOr<kiln::v1::ModelVersion> RegistryStore::GetVersion(const std::string& model,
                                                                 int64_t version) {
  std::vector<kiln::v1::ModelVersion> found;
  bool model_found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    found = SelectVersions(tx, model, absl::StrCat("v.version = ", version), 1,
                           /*with_manifest=*/true);
    model_found = !found.empty() || ModelExists(tx, model);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!model_found) return ModelNotFound(model);
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no version ", version));
  }
  return std::move(found[0]);
}

absl::StatusOr<std::string> RegistryStore::ReadBlob(const std::string& sha256) {
  std::string data;
  bool found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    const pqxx::result rows =
        tx.exec_params("SELECT data FROM registry.blobs WHERE sha256 = $1", sha256);
    found = !rows.empty();
    if (found) data = pqxx::binarystring(rows[0][0]).str();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) return absl::NotFoundError(absl::StrCat("no blob with sha256 ", sha256));
  return data;
}

absl::Status RegistryStore::DeleteVersion(const std::string& model, int64_t version) {
  bool model_found = false;
  bool version_found = false;
  std::vector<std::string> aliases;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    aliases.clear();
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kBlobLock);
    // Locking the row first makes a concurrent SetAlias on this version
    // either finish before the alias check below or fail afterwards.
    version_found = !tx.exec_params(
                           "SELECT 1 FROM registry.versions WHERE model = $1 AND version = $2 "
                           "FOR UPDATE",
                           model, version)
                         .empty();
    model_found = version_found || ModelExists(tx, model);
    if (!version_found) return absl::OkStatus();
    for (const auto& row : tx.exec_params(
             "SELECT name FROM registry.aliases WHERE model = $1 AND version = $2 ORDER BY name",
             model, version)) {
      aliases.push_back(row[0].as<std::string>());
    }
    if (!aliases.empty()) return absl::OkStatus();
    std::vector<std::string> hashes;
    for (const auto& row : tx.exec_params(
             "SELECT DISTINCT sha256 FROM registry.version_files WHERE model = $1 AND version = $2",
             model, version)) {
      hashes.push_back(row[0].as<std::string>());
    }
    tx.exec_params("DELETE FROM registry.versions WHERE model = $1 AND version = $2", model,
                   version);
    tx.exec_params(
        "DELETE FROM registry.blobs b WHERE b.sha256 = ANY($1::text[]) AND NOT EXISTS "
        "(SELECT 1 FROM registry.version_files f WHERE f.sha256 = b.sha256)",
        TextArray(hashes));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!model_found) return ModelNotFound(model);
  if (!version_found) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no version ", version));
  }
  if (!aliases.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version, " of model \"", model, "\" is what alias(es) ",
        absl::StrJoin(aliases, ", "),
        " point at; move them first (latest moves when a newer version is published)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<kiln::v1::Alias> RegistryStore::SetAlias(const std::string& model,
                                                        const std::string& alias, int64_t version,
                                                        const Requirements& requirements) {
  kiln::v1::Alias result;
  bool model_found = false;
  bool version_found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    result.Clear();
    // Key-share lock: a concurrent DeleteVersion waits for this alias.
    const pqxx::result rows = tx.exec_params(
        "SELECT metrics::text FROM registry.versions WHERE model = $1 AND version = $2 "
        "FOR KEY SHARE",
        model, version);
    version_found = !rows.empty();
    model_found = version_found || ModelExists(tx, model);
    if (!version_found) return absl::OkStatus();
    std::map<std::string, double> metrics;
    const json parsed = json::parse(rows[0][0].as<std::string>(), nullptr, false);
    if (parsed.is_object()) {
      for (const auto& [name, value] : parsed.items()) {
        if (value.is_number()) metrics[name] = value.get<double>();
      }
    }
    KILN_RETURN_IF_ERROR(CheckRequirements(
        metrics, requirements, absl::StrCat("version ", version, " of model \"", model, "\"")));
    const pqxx::row row = tx.exec_params1(
        "INSERT INTO registry.aliases (model, name, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (model, name) DO UPDATE SET version = EXCLUDED.version, updated_at = now() "
        "RETURNING name, version, extract(epoch FROM updated_at)",
        model, alias, version);
    FillAlias(model, row, &result);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!model_found) return ModelNotFound(model);
  if (!version_found) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no version ", version));
  }
  return result;
}

absl::Status RegistryStore::DeleteAlias(const std::string& model, const std::string& alias) {
  bool deleted = false;
  bool model_found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    deleted = !tx.exec_params(
                     "DELETE FROM registry.aliases WHERE model = $1 AND name = $2 RETURNING 1",
                     model, alias)
                   .empty();
    model_found = deleted || ModelExists(tx, model);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!model_found) return ModelNotFound(model);
  if (!deleted) {
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" has no alias \"", alias, "\""));
  }
  return absl::OkStatus();
}

}  // namespace kiln::registry
