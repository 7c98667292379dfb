// kiln::log's two formats: the human-readable default, and JSON lines with
// the thread's context fields for a log pipeline.
#include "services/common/log.h"

#include <regex>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace kiln::log {
namespace {

std::string Captured(void (*write)()) {
  ::testing::internal::CaptureStderr();
  write();
  return ::testing::internal::GetCapturedStderr();
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { SetProgramName("kiln-test"); }
  void TearDown() override { ASSERT_TRUE(SetFormat("text").ok()); }
};

TEST_F(LogTest, TextIsOneReadableLineWithoutTheContext) {
  const std::string line = Captured([] {
    ScopedContext context("job", "job-1");
    Warning("disk ", 93, "% full");
  });
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  kiln-test: disk 93% full\n)")))
      << line;
}

TEST_F(LogTest, JsonIsOneObjectPerLineWithTheNestedContext) {
  ASSERT_TRUE(SetFormat("json").ok());
  const std::string output = Captured([] {
    ScopedContext outer("job", "job-1");
    {
      ScopedContext inner("rpc", "/kiln.v1.TrainingService/Heartbeat");
      Error("a \"quoted\"\nmessage");
    }
    Info("after");
  });
  const size_t first_end = output.find('\n');
  ASSERT_NE(first_end, std::string::npos);
  const nlohmann::json first = nlohmann::json::parse(output.substr(0, first_end));
  EXPECT_EQ(first["level"], "error");
  EXPECT_EQ(first["program"], "kiln-test");
  EXPECT_EQ(first["message"], "a \"quoted\"\nmessage");
  EXPECT_EQ(first["job"], "job-1");
  EXPECT_EQ(first["rpc"], "/kiln.v1.TrainingService/Heartbeat");
  EXPECT_TRUE(std::regex_match(first["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  const nlohmann::json second = nlohmann::json::parse(output.substr(first_end + 1));
  EXPECT_EQ(second["message"], "after");
  EXPECT_EQ(second["job"], "job-1");
  EXPECT_FALSE(second.contains("rpc"));  // the inner scope ended
}

TEST_F(LogTest, ContextIsPerThread) {
  ASSERT_TRUE(SetFormat("json").ok());
  const std::string output = Captured([] {
    ScopedContext mine("job", "job-1");
    std::thread([] { Info("elsewhere"); }).join();
  });
  EXPECT_FALSE(nlohmann::json::parse(output).contains("job")) << output;
}

TEST_F(LogTest, InvalidUtf8BecomesReplacementCharacters) {
  ASSERT_TRUE(SetFormat("json").ok());
  const nlohmann::json line = nlohmann::json::parse(Captured([] { Info("bad \xff byte"); }));
  EXPECT_EQ(line["message"], "bad \xEF\xBF\xBD byte");
}

TEST_F(LogTest, UnknownFormatIsRefusedByName) {
  const absl::Status status = SetFormat("yaml");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "log format \"yaml\" is not one of text, json");
}

}  // namespace
}  // namespace kiln::log
