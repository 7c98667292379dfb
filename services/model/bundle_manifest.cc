#include "services/model/bundle_manifest.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/sha256.h"
#include "services/model/bundle_files.h"

namespace kiln::model {
namespace {

using nlohmann::json;

constexpr char kGlobalAverage[] = "global_average";
constexpr char kFlatten[] = "flatten";
constexpr char kArticle[] = "article";
constexpr char kTfidf[] = "tfidf";

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("manifest.json \"", field, "\" ", what));
}

// The member `key` of `object` (named `path` in errors), which must exist.
absl::StatusOr<const json*> Member(const json& object, const std::string& path, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return FieldError(path.empty() ? key : absl::StrCat(path, ".", key), "is missing");
  return &*it;
}

absl::StatusOr<std::string> StringField(const json& object, const std::string& path, const char* key) {
  absl::StatusOr<const json*> value = Member(object, path, key);
  if (!value.ok()) return value.status();
  if (!(*value)->is_string() || (*value)->get_ref<const std::string&>().empty()) {
    return FieldError(absl::StrCat(path, ".", key), "must be a non-empty string");
  }
  return (*value)->get<std::string>();
}

absl::StatusOr<int> PositiveIntField(const json& object, const std::string& path, const char* key) {
  absl::StatusOr<const json*> value = Member(object, path, key);
  if (!value.ok()) return value.status();
  if (!(*value)->is_number_integer() || (*value)->get<int64_t>() < 1 ||
      (*value)->get<int64_t>() > INT32_MAX) {
    return FieldError(absl::StrCat(path, ".", key), "must be a positive integer");
  }
  return (*value)->get<int>();
}

absl::StatusOr<std::vector<std::string>> ParseClasses(const json& doc) {
  absl::StatusOr<const json*> classes = Member(doc, "", "classes");
  if (!classes.ok()) return classes.status();
  if (!(*classes)->is_array() || (*classes)->size() < 2) {
    return FieldError("classes", "must be an array of at least two class names");
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const json& name : **classes) {
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
      return FieldError(absl::StrCat("classes[", names.size(), "]"), "must be a non-empty string");
    }
    if (!seen.insert(name.get<std::string>()).second) {
      return FieldError("classes", absl::StrCat("names \"", name.get<std::string>(), "\" twice"));
    }
    names.push_back(name.get<std::string>());
  }
  return names;
}

absl::Status ParsePreprocessing(const json& doc, BundleManifest* manifest) {
  absl::StatusOr<const json*> section = Member(doc, "", "preprocessing");
  if (!section.ok()) return section.status();
  if (!(*section)->is_object()) return FieldError("preprocessing", "must be an object");
  const json& preprocessing = **section;
  absl::StatusOr<std::string> text = StringField(preprocessing, "preprocessing", "spec_version");
  if (!text.ok()) return text.status();
  manifest->spec_version = *std::move(text);
  if (text = StringField(preprocessing, "preprocessing", "vocab_sha256"); !text.ok()) return text.status();
  if (!IsSha256Hex(*text)) return FieldError("preprocessing.vocab_sha256", "is not a lower-case hex sha256");
  manifest->vocab_sha256 = *std::move(text);
  absl::StatusOr<int> number = PositiveIntField(preprocessing, "preprocessing", "max_length");
  if (!number.ok()) return number.status();
  manifest->shape.max_length = *number;
  if (number = PositiveIntField(preprocessing, "preprocessing", "vocab_size"); !number.ok()) return number.status();
  manifest->shape.vocab_size = *number;
  return absl::OkStatus();
}

absl::Status ParseModel(const json& doc, BundleManifest* manifest) {
  absl::StatusOr<const json*> section = Member(doc, "", "model");
  if (!section.ok()) return section.status();
  if (!(*section)->is_object()) return FieldError("model", "must be an object");
  const json& model = **section;
  absl::StatusOr<int> number = PositiveIntField(model, "model", "embedding_dim");
  if (!number.ok()) return number.status();
  manifest->shape.embedding_dim = *number;
  if (number = PositiveIntField(model, "model", "hidden_units"); !number.ok()) return number.status();
  manifest->shape.hidden_units = *number;
  absl::StatusOr<std::string> text = std::string(kArticle);  // bundles from before K10
  if (model.contains("architecture")) text = StringField(model, "model", "architecture");
  if (!text.ok()) return text.status();
  if (*text == kTfidf) {
    manifest->shape.architecture = Architecture::kTfidf;
  } else if (*text != kArticle) {
    return FieldError("model.architecture", absl::StrCat("is \"", *text, "\", expected \"",
                                                         kArticle, "\" or \"", kTfidf, "\""));
  }
  if (model.contains("dropout")) {
    const json& dropout = model["dropout"];
    if (!dropout.is_number() || !(dropout.get<double>() >= 0) || !(dropout.get<double>() <= 0.9)) {
      return FieldError("model.dropout", "must be a number in 0..0.9");
    }
    manifest->shape.dropout = dropout.get<float>();
  }
  if (!manifest->shape.tfidf()) {
    if (text = StringField(model, "model", "pooling"); !text.ok()) return text.status();
    if (*text == kGlobalAverage) {
      manifest->shape.pooling = Pooling::kGlobalAverage;
    } else if (*text == kFlatten) {
      manifest->shape.pooling = Pooling::kFlatten;
    } else {
      return FieldError("model.pooling", absl::StrCat("is \"", *text, "\", expected \"",
                                                      kGlobalAverage, "\" or \"", kFlatten, "\""));
    }
  }
  if (text = StringField(model, "model", "weight_encoding"); !text.ok()) return text.status();
  absl::StatusOr<WeightEncoding> encoding = ParseWeightEncoding(*text);
  if (!encoding.ok()) return FieldError("model.weight_encoding", encoding.status().message());
  manifest->weight_encoding = *encoding;
  return absl::OkStatus();
}

absl::Status ParseMetricsAndLineage(const json& doc, BundleManifest* manifest) {
  absl::StatusOr<const json*> metrics = Member(doc, "", "metrics");
  if (!metrics.ok()) return metrics.status();
  if (!(*metrics)->is_object()) return FieldError("metrics", "must be an object");
  for (const auto& [name, value] : (*metrics)->items()) {
    if (!value.is_number()) return FieldError(absl::StrCat("metrics.", name), "must be a number");
    manifest->metrics[name] = value.get<double>();
  }
  absl::StatusOr<const json*> lineage = Member(doc, "", "lineage");
  if (!lineage.ok()) return lineage.status();
  if (!(*lineage)->is_object()) return FieldError("lineage", "must be an object");
  manifest->lineage = **lineage;
  return absl::OkStatus();
}

absl::Status ParseFiles(const json& doc, BundleManifest* manifest) {
  absl::StatusOr<const json*> files = Member(doc, "", "files");
  if (!files.ok()) return files.status();
  if (!(*files)->is_array()) return FieldError("files", "must be an array");
  std::set<std::string> paths;
  for (const json& file : **files) {
    const std::string where = absl::StrCat("files[", manifest->files.size(), "]");
    if (!file.is_object()) return FieldError(where, "must be an object");
    BundleFileEntry entry;
    absl::StatusOr<std::string> text = StringField(file, where, "path");
    if (!text.ok()) return text.status();
    entry.path = *std::move(text);
    if (!IsBundleFileName(entry.path) || entry.path == kManifestFile) {
      return FieldError(absl::StrCat(where, ".path"),
                        absl::StrCat("\"", entry.path, "\" is not a bundle file name"));
    }
    if (!paths.insert(entry.path).second) {
      return FieldError("files", absl::StrCat("lists \"", entry.path, "\" twice"));
    }
    absl::StatusOr<const json*> size = Member(file, where, "size");
    if (!size.ok()) return size.status();
    if (!(*size)->is_number_integer() || (*size)->get<int64_t>() < 0) {
      return FieldError(absl::StrCat(where, ".size"), "must be a non-negative integer");
    }
    entry.size = (*size)->get<int64_t>();
    if (text = StringField(file, where, "sha256"); !text.ok()) return text.status();
    if (!IsSha256Hex(*text)) return FieldError(absl::StrCat(where, ".sha256"), "is not a lower-case hex sha256");
    entry.sha256 = *std::move(text);
    manifest->files.push_back(std::move(entry));
  }
  const char* preprocess = manifest->format_version == 1 ? kFormat1PreprocessFile : kPreprocessFile;
  for (const char* required : {kModelFile, kVocabFile, preprocess}) {
    if (paths.count(required) == 0) return FieldError("files", absl::StrCat("does not list ", required));
  }
  if (manifest->shape.tfidf() && paths.count(kIdfFile) == 0) {
    return FieldError("files", absl::StrCat("does not list ", kIdfFile, " (a tfidf model needs it)"));
  }
  return absl::OkStatus();
}

json ModelToJson(const BundleManifest& manifest) {
  const ModelShape& shape = manifest.shape;
  json model = {{"architecture", shape.tfidf() ? kTfidf : kArticle},
                // The float's shortest decimal, not its double expansion.
                {"dropout", std::round(double{shape.dropout} * 1e6) / 1e6},
                {"embedding_dim", shape.embedding_dim},
                {"hidden_units", shape.hidden_units},
                {"weight_encoding", WeightEncodingName(manifest.weight_encoding)}};
  if (!shape.tfidf()) model["pooling"] = shape.pooling == Pooling::kFlatten ? kFlatten : kGlobalAverage;
  return model;
}

}  // namespace

std::string ManifestToJson(const BundleManifest& manifest) {
  json files = json::array();
  for (const BundleFileEntry& file : manifest.files) {
    files.push_back({{"path", file.path}, {"size", file.size}, {"sha256", file.sha256}});
  }
  const json doc = {
      {"format", kBundleFormat},
      {"format_version", manifest.format_version},
      {"classes", manifest.classes},
      {"preprocessing",
       {{"spec_version", manifest.spec_version},
        {"max_length", manifest.shape.max_length},
        {"vocab_size", manifest.shape.vocab_size},
        {"vocab_sha256", manifest.vocab_sha256}}},
      {"model", ModelToJson(manifest)},
      {"metrics", manifest.metrics},
      {"lineage", manifest.lineage},
      {"files", std::move(files)},
  };
  // ASCII only, so that the bytes (and the sha256 a registry computes) do
  // not depend on how a class name's Unicode was normalized on the way.
  return doc.dump(2, ' ', /*ensure_ascii=*/true) + "\n";
}

absl::StatusOr<BundleManifest> ParseManifest(absl::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("manifest.json is not a JSON object");
  }
  const auto format = doc.find("format");
  if (format == doc.end() || *format != kBundleFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest.json \"format\" is not \"", kBundleFormat, "\""));
  }
  const auto version = doc.find("format_version");
  if (version == doc.end() || !version->is_number_integer()) {
    return FieldError("format_version", "must be an integer");
  }
  if (version->get<int64_t>() < kOldestBundleFormatVersion ||
      version->get<int64_t>() > kBundleFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("manifest.json has format_version ", version->dump(), ", this build reads ",
                     kOldestBundleFormatVersion, " to ", kBundleFormatVersion));
  }
  BundleManifest manifest;
  manifest.format_version = version->get<int>();
  absl::StatusOr<std::vector<std::string>> classes = ParseClasses(doc);
  if (!classes.ok()) return classes.status();
  manifest.classes = *std::move(classes);
  manifest.shape.num_classes = static_cast<int>(manifest.classes.size());
  if (absl::Status s = ParsePreprocessing(doc, &manifest); !s.ok()) return s;
  if (absl::Status s = ParseModel(doc, &manifest); !s.ok()) return s;
  if (absl::Status s = ParseMetricsAndLineage(doc, &manifest); !s.ok()) return s;
  if (absl::Status s = ParseFiles(doc, &manifest); !s.ok()) return s;
  return manifest;
}

}  // namespace kiln::model
