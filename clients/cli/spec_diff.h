// Field-by-field differences of two messages of one type (two jobs' specs),
// found through reflection so that new fields show up by themselves.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/message.h>

namespace kiln::cli {

struct FieldDifference {
  // Dotted path through singular message fields, e.g. "vocabulary.min_count".
  std::string field;
  // Each side in protobuf text format: numbers, quoted strings, enum names,
  // lists as [a, b]; "-" for an optional field left unset.
  std::string a;
  std::string b;
};

// In declaration order; empty when the messages are equal (or of two types).
std::vector<FieldDifference> DiffMessages(const google::protobuf::Message& a,
                                          const google::protobuf::Message& b);

}  // namespace kiln::cli
