// Range headers against a representation's size (RFC 9110 section 14).
#include "services/registry/http_range.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kiln::registry {
namespace {

using Kind = RangeSelection::Kind;

// "first-last,..." of a partial selection, "whole" or "416".
std::string Describe(absl::string_view header, uint64_t size) {
  const RangeSelection selection = SelectRanges(header, size);
  if (selection.kind == Kind::kWhole) return "whole";
  if (selection.kind == Kind::kUnsatisfiable) return "416";
  std::string out;
  for (const ByteRange& range : selection.ranges) {
    absl::StrAppend(&out, out.empty() ? "" : ",", range.first, "-", range.last);
  }
  return out;
}

TEST(HttpRangeTest, SingleRangesAreClippedToTheSize) {
  EXPECT_EQ(Describe("bytes=0-99", 1000), "0-99");
  EXPECT_EQ(Describe("bytes=500-", 1000), "500-999");
  EXPECT_EQ(Describe("bytes=-100", 1000), "900-999");
  EXPECT_EQ(Describe("bytes=-5000", 1000), "0-999");
  EXPECT_EQ(Describe("bytes=990-5000", 1000), "990-999");
  EXPECT_EQ(Describe("Bytes = 1-2 ", 1000), "whole");  // no spaces around "="
  EXPECT_EQ(Describe("BYTES=1-2", 1000), "1-2");
}

TEST(HttpRangeTest, OverlappingAndAdjacentRangesAreMergedInOrder) {
  EXPECT_EQ(Describe("bytes=0-9,5-19,20-29", 1000), "0-29");
  EXPECT_EQ(Describe("bytes=500-599, 0-9 ,10-10", 1000), "0-10,500-599");
  EXPECT_EQ(Describe("bytes=-10,0-", 1000), "0-999");
  // 2,700 times "0-" is one range, not 2,700 copies of the document.
  std::string repeated = "bytes=0-";
  for (int i = 1; i < 2700; ++i) repeated += ",0-";
  EXPECT_EQ(Describe(repeated, 2400), "0-2399");
}

TEST(HttpRangeTest, MoreThanTheMaximumOfDisjointRangesServesTheWhole) {
  std::string eight = "bytes=0-0";
  for (size_t i = 1; i < kMaxByteRanges; ++i) absl::StrAppend(&eight, ",", i * 10, "-", i * 10);
  EXPECT_EQ(SelectRanges(eight, 1000).ranges.size(), kMaxByteRanges);
  EXPECT_EQ(Describe(absl::StrCat(eight, ",500-500"), 1000), "whole");
}

TEST(HttpRangeTest, MalformedOrOtherUnitsServeTheWhole) {
  for (absl::string_view header :
       {"", "bytes=", "bytes=,", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=0-1,x",
        "bytes=--1", "bytes=1", "bytes=+1-2", "bytes=99999999999999999999-"}) {
    EXPECT_EQ(Describe(header, 1000), "whole") << header;
  }
}

TEST(HttpRangeTest, RangesOutsideTheRepresentationAre416) {
  EXPECT_EQ(Describe("bytes=1000-", 1000), "416");
  EXPECT_EQ(Describe("bytes=2000-3000,1000-1000", 1000), "416");
  EXPECT_EQ(Describe("bytes=-0", 1000), "416");
  EXPECT_EQ(Describe("bytes=0-", 0), "416");
  // One satisfiable range is enough.
  EXPECT_EQ(Describe("bytes=2000-3000,999-", 1000), "999-999");
}

}  // namespace
}  // namespace kiln::registry
