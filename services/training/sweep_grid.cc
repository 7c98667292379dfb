#include "services/training/sweep_grid.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace kiln::training {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// A parsed value: integers widened, enums by number.
using FieldValue = std::variant<int64_t, uint64_t, double, bool, std::string>;

struct Axis {
  // The message fields leading to the scalar, then the scalar.
  std::vector<const FieldDescriptor*> path;
  std::vector<FieldValue> values;
};

// Beyond it a random draw's index arithmetic could overflow.
constexpr uint64_t kMaxCombinations = uint64_t{1} << 62;
constexpr size_t kMaxFieldBytes = 128;
constexpr size_t kMaxValueBytes = 1024;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", EchoableUtf8(text, 64), "\"");
}

const FieldDescriptor* FindField(const Descriptor* type, absl::string_view name) {
  if (const FieldDescriptor* field = type->FindFieldByName(std::string(name))) return field;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// Every path a grid can set, for the message about an unknown field.
void SweepableFields(const Descriptor* type, const std::string& prefix,
                     std::vector<std::string>& out) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->is_repeated()) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      SweepableFields(field->message_type(), prefix + field->name() + ".", out);
    } else {
      out.push_back(prefix + field->name());
    }
  }
}

absl::StatusOr<std::vector<const FieldDescriptor*>> ResolveField(const std::string& text) {
  if (text.empty()) return Invalid("grid: an axis has no field name");
  if (text.size() > kMaxFieldBytes || !IsValidUtf8(text)) {
    return Invalid(absl::StrCat("grid field ", Quoted(text), " is not a field name"));
  }
  std::vector<const FieldDescriptor*> path;
  const Descriptor* type = kiln::v1::JobSpec::descriptor();
  for (absl::string_view segment : absl::StrSplit(text, '.')) {
    if (!path.empty()) {
      const FieldDescriptor* parent = path.back();
      if (parent->is_repeated() || parent->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return Invalid(absl::StrCat("grid field ", Quoted(text), ": ", parent->name(),
                                    " has no fields of its own"));
      }
      type = parent->message_type();
    }
    const FieldDescriptor* field = FindField(type, segment);
    if (field == nullptr) {
      std::vector<std::string> known;
      SweepableFields(kiln::v1::JobSpec::descriptor(), "", known);
      return Invalid(absl::StrCat("grid field ", Quoted(text),
                                  " is not a JobSpec field; fields that can be swept: ",
                                  absl::StrJoin(known, ", ")));
    }
    path.push_back(field);
  }
  const FieldDescriptor* leaf = path.back();
  if (leaf->is_repeated()) {
    return Invalid(absl::StrCat("grid field ", Quoted(text),
                                " is a list; only fields holding one value can be swept"));
  }
  if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    std::vector<std::string> inner;
    SweepableFields(leaf->message_type(), text + ".", inner);
    return Invalid(absl::StrCat("grid field ", Quoted(text),
                                " is a message; sweep one of its fields: ",
                                absl::StrJoin(inner, ", ")));
  }
  return path;
}

// "WeightEncoding" -> "WEIGHT_ENCODING_", the prefix of its value names.
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return prefix + "_";
}

// Value 0 (UNSPECIFIED) is left out: a grid names what it tries.
absl::StatusOr<FieldValue> ParseEnum(const EnumDescriptor* type, const std::string& field,
                                     const std::string& text) {
  const std::string prefix = EnumPrefix(type);
  const std::string upper = absl::AsciiStrToUpper(text);
  std::vector<std::string> allowed;
  for (int i = 0; i < type->value_count(); ++i) {
    const auto* value = type->value(i);
    if (value->number() == 0) continue;
    const std::string& name = value->name();
    if (upper == name || prefix + upper == name) return FieldValue(int64_t{value->number()});
    allowed.push_back(absl::AsciiStrToLower(
        name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name));
  }
  return Invalid(absl::StrCat("grid field ", field, ": ", Quoted(text), " is not one of ",
                              absl::StrJoin(allowed, ", ")));
}

absl::StatusOr<FieldValue> ParseValue(const FieldDescriptor* leaf, const std::string& field,
                                      absl::string_view raw) {
  const std::string text(absl::StripAsciiWhitespace(raw));
  if (text.empty()) return Invalid(absl::StrCat("grid field ", field, ": an empty value"));
  if (text.size() > kMaxValueBytes || !IsValidUtf8(text)) {
    return Invalid(absl::StrCat("grid field ", field, ": a value is over ", kMaxValueBytes,
                                " bytes or not UTF-8"));
  }
  auto not_a = [&](const char* what) {
    return Invalid(absl::StrCat("grid field ", field, ": ", Quoted(text), " is not ", what));
  };
  switch (leaf->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return not_a("a 32-bit integer");
      return FieldValue(int64_t{value});
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return not_a("an integer");
      return FieldValue(value);
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return not_a("a 32-bit integer >= 0");
      return FieldValue(uint64_t{value});
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return not_a("an integer >= 0");
      return FieldValue(value);
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double value = 0;
      if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) return not_a("a number");
      if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        value = static_cast<float>(value);
        if (!std::isfinite(value)) return not_a("a number a float holds");
      }
      return FieldValue(value);
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = false;
      if (!absl::SimpleAtob(text, &value)) return not_a("true or false");
      return FieldValue(value);
    }
    case FieldDescriptor::CPPTYPE_ENUM:
      return ParseEnum(leaf->enum_type(), field, text);
    case FieldDescriptor::CPPTYPE_STRING:
      return FieldValue(text);
    default:
      return not_a("a value of a field that can be swept");
  }
}

void SetValue(Message& root, const std::vector<const FieldDescriptor*>& path,
              const FieldValue& value) {
  Message* message = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    message = message->GetReflection()->MutableMessage(message, path[i]);
  }
  const FieldDescriptor* field = path.back();
  const auto* reflection = message->GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      reflection->SetInt32(message, field, static_cast<int32_t>(std::get<int64_t>(value)));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      reflection->SetInt64(message, field, std::get<int64_t>(value));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      reflection->SetUInt32(message, field, static_cast<uint32_t>(std::get<uint64_t>(value)));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      reflection->SetUInt64(message, field, std::get<uint64_t>(value));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      reflection->SetDouble(message, field, std::get<double>(value));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      reflection->SetFloat(message, field, static_cast<float>(std::get<double>(value)));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      reflection->SetBool(message, field, std::get<bool>(value));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      reflection->SetEnumValue(message, field, static_cast<int>(std::get<int64_t>(value)));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, std::get<std::string>(value));
      break;
    default:
      break;  // ResolveField admits scalars only
  }
}

absl::StatusOr<std::vector<Axis>> ResolveGrid(const kiln::v1::SweepPlan& plan) {
  if (plan.grid().empty()) {
    return Invalid("grid: no axes; give at least one field and its values, "
                   "e.g. learning_rate=0.001,0.005");
  }
  if (plan.grid_size() > kMaxGridAxes) {
    return Invalid(absl::StrCat("grid has ", plan.grid_size(), " axes; allowed: 1..",
                                kMaxGridAxes));
  }
  std::vector<Axis> axes;
  std::set<std::vector<const FieldDescriptor*>> seen;
  for (const kiln::v1::GridAxis& given : plan.grid()) {
    Axis axis;
    KILN_ASSIGN_OR_RETURN(axis.path, ResolveField(given.field()));
    if (!seen.insert(axis.path).second) {
      return Invalid(absl::StrCat("grid field ", given.field(),
                                  " is given twice; list all its values in one axis"));
    }
    if (given.values().empty()) {
      return Invalid(absl::StrCat("grid field ", given.field(), " has no values"));
    }
    if (given.values_size() > kMaxAxisValues) {
      return Invalid(absl::StrCat("grid field ", given.field(), " has ", given.values_size(),
                                  " values; allowed: 1..", kMaxAxisValues));
    }
    for (const std::string& text : given.values()) {
      KILN_ASSIGN_OR_RETURN(FieldValue value, ParseValue(axis.path.back(), given.field(), text));
      if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end()) {
        return Invalid(absl::StrCat("grid field ", given.field(), " lists ", Quoted(text),
                                    " twice (or two ways)"));
      }
      axis.values.push_back(std::move(value));
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

// A uniform draw from 0..n-1: values past the last multiple of n are drawn
// again rather than folded, which would favour the small ones.
uint64_t Draw(std::mt19937_64& engine, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const uint64_t x = engine();
    if (x < limit) return x % n;
  }
}

absl::StatusOr<std::vector<uint64_t>> ChooseCombinations(const kiln::v1::SweepPlan& plan,
                                                         uint64_t product) {
  const int count = plan.random_count();
  if (count < 0 || count > kMaxSweepJobs) {
    return Invalid(absl::StrCat("random_count is ", count, "; allowed: 0..", kMaxSweepJobs,
                                " (0 = every combination)"));
  }
  if (count == 0) {
    if (product > kMaxSweepJobs) {
      return Invalid(absl::StrCat(
          "grid has ", product > kMaxCombinations ? "over 2^62" : absl::StrCat(product),
          " combinations, over the ", kMaxSweepJobs,
          " jobs one sweep may queue; draw some of them with random_count "
          "(kiln sweep --random N)"));
    }
    std::vector<uint64_t> all(product);
    for (uint64_t i = 0; i < product; ++i) all[i] = i;
    return all;
  }
  if (product > kMaxCombinations) {
    return Invalid("grid has over 2^62 combinations; give fewer values");
  }
  if (static_cast<uint64_t>(count) > product) {
    return Invalid(absl::StrCat("random_count ", count, " is more than the grid's ", product,
                                " combinations"));
  }
  std::mt19937_64 engine(plan.random_seed());
  std::set<uint64_t> chosen;
  while (chosen.size() < static_cast<size_t>(count)) chosen.insert(Draw(engine, product));
  return std::vector<uint64_t>(chosen.begin(), chosen.end());
}

}  // namespace

absl::StatusOr<std::vector<SweepCombination>> ExpandSweep(const kiln::v1::SweepPlan& plan) {
  if (plan.name().size() > 128 || !IsValidUtf8(plan.name())) {
    return Invalid("name must be UTF-8 of at most 128 bytes");
  }
  if (plan.description().size() > 1024 || !IsValidUtf8(plan.description())) {
    return Invalid("description must be UTF-8 of at most 1024 bytes");
  }
  KILN_ASSIGN_OR_RETURN(const std::vector<Axis> axes, ResolveGrid(plan));
  uint64_t product = 1;
  for (const Axis& axis : axes) {
    const uint64_t size = axis.values.size();
    product = product > kMaxCombinations / size ? kMaxCombinations + 1 : product * size;
  }
  KILN_ASSIGN_OR_RETURN(const std::vector<uint64_t> indices, ChooseCombinations(plan, product));

  std::vector<SweepCombination> combinations;
  for (uint64_t index : indices) {
    SweepCombination combination;
    combination.spec = plan.base_spec();
    combination.values.resize(axes.size());
    // Mixed radix, the last axis the fastest digit.
    for (size_t k = axes.size(); k-- > 0;) {
      const size_t digit = index % axes[k].values.size();
      index /= axes[k].values.size();
      SetValue(combination.spec, axes[k].path, axes[k].values[digit]);
      combination.values[k] = std::string(absl::StripAsciiWhitespace(plan.grid(k).values(digit)));
    }
    combinations.push_back(std::move(combination));
  }
  return combinations;
}

std::string DescribeCombination(const kiln::v1::SweepPlan& plan,
                                const std::vector<std::string>& values) {
  std::vector<std::string> parts;
  for (size_t k = 0; k < values.size() && k < static_cast<size_t>(plan.grid_size()); ++k) {
    parts.push_back(absl::StrCat(plan.grid(k).field(), "=", values[k]));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace kiln::training
