#include "clients/cli/spec_diff.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/text_format.h>

#include "absl/strings/str_join.h"

namespace kiln::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string Render(const Message& message, const FieldDescriptor* field) {
  const auto* reflection = message.GetReflection();
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  auto element = [&](int index) {
    std::string text;
    printer.PrintFieldValueToString(message, field, index, &text);
    // Single-line messages print as "first: 1922 last: 1953 ".
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? "{" + text + "}" : text;
  };
  if (field->is_repeated()) {
    std::vector<std::string> items;
    for (int i = 0; i < reflection->FieldSize(message, field); ++i) items.push_back(element(i));
    return "[" + absl::StrJoin(items, ", ") + "]";
  }
  if (field->has_presence() && !reflection->HasField(message, field)) return "-";
  return element(-1);
}

void Diff(const Message& a, const Message& b, const std::string& prefix,
          std::vector<FieldDifference>& out) {
  const auto* type = a.GetDescriptor();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    const std::string name = prefix + field->name();
    if (!field->is_repeated() && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Diff(a.GetReflection()->GetMessage(a, field), b.GetReflection()->GetMessage(b, field),
           name + ".", out);
      continue;
    }
    std::string left = Render(a, field);
    std::string right = Render(b, field);
    if (left != right) out.push_back({name, std::move(left), std::move(right)});
  }
}

}  // namespace

std::vector<FieldDifference> DiffMessages(const Message& a, const Message& b) {
  std::vector<FieldDifference> differences;
  if (a.GetDescriptor() == b.GetDescriptor()) Diff(a, b, "", differences);
  return differences;
}

}  // namespace kiln::cli
