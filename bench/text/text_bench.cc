// Throughput of kiln-text-1 (clean + tokenize + encode to max_length ids)
// over the whole 20news corpus on one thread, against the Python `re`
// pipeline of torch_baseline.py run by python_peer.py on the same texts.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/common/median.h"
#include "clients/ingest/newsgroups_archive.h"
#include "nlohmann/json.hpp"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

ABSL_FLAG(std::string, archive, "",
          "20news-bydate.tar.gz; default $KILN_DATASET, else ../shared/datasets/ "
          "next to the source tree");
ABSL_FLAG(int, runs, 5, "timed runs per implementation; the median is reported");
ABSL_FLAG(int, max_length, 256, "ids per post");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "interpreter for the Python peer");

namespace {

using kiln::bench::Median;

using Clock = std::chrono::steady_clock;
using kiln::ingest::NewsgroupsPost;

struct Result {
  double median_seconds;
  int32_t vocab_size;
};

// With scan_whole_text, tokenizes every text to its end before encoding,
// as the Python pipeline does, instead of stopping at max_length tokens:
// shows how much of the ratio comes from that shortcut.
absl::StatusOr<Result> RunCpp(const std::vector<NewsgroupsPost>& posts, int runs,
                              int max_length, bool scan_whole_text) {
  kiln::text::Tokenizer tokenizer;
  kiln::text::TokenCounter counter;
  for (const NewsgroupsPost& post : posts) {
    if (post.split == "train") counter.Add(tokenizer.Tokenize(post.body));
  }
  absl::StatusOr<kiln::text::Vocabulary> vocab =
      kiln::text::Vocabulary::Build(counter, {/*min_count=*/2});
  if (!vocab.ok()) return vocab.status();

  // One row per post, as training consumes them.
  std::vector<int32_t> ids(posts.size() * static_cast<size_t>(max_length));
  kiln::text::TextEncoder encoder(*vocab);
  std::vector<double> seconds;
  int64_t checksum = 0;
  // Run 0 warms the caches and grows the tokenizer's buffers; it is not timed.
  for (int run = 0; run <= runs; ++run) {
    const auto start = Clock::now();
    for (size_t i = 0; i < posts.size(); ++i) {
      const absl::Span<int32_t> row =
          absl::MakeSpan(ids.data() + i * max_length, static_cast<size_t>(max_length));
      if (scan_whole_text) {
        kiln::text::EncodeTokens(tokenizer.Tokenize(posts[i].body), *vocab, row);
      } else {
        encoder.Encode(posts[i].body, row);
      }
    }
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (run > 0) seconds.push_back(elapsed.count());
    checksum += ids[ids.size() / 2];  // keeps the work observable
  }
  if (checksum < 0) std::cerr << "impossible checksum\n";
  return Result{Median(seconds), vocab->size()};
}

absl::StatusOr<Result> RunPython(const std::vector<NewsgroupsPost>& posts, int runs,
                                 int max_length) {
  // The peer gets the texts already extracted, so it times only its pipeline.
  const std::filesystem::path texts =
      std::filesystem::temp_directory_path() /
      absl::StrCat("kiln_bench_text_", getpid(), ".jsonl");
  {
    std::ofstream out(texts, std::ios::binary);
    for (const NewsgroupsPost& post : posts) {
      out << nlohmann::json::array({post.split, post.body}).dump() << '\n';
    }
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", texts.string()));
  }
  const std::string command =
      absl::StrCat("'", absl::GetFlag(FLAGS_python), "' '", KILN_BENCH_PYTHON_PEER, "' '",
                   texts.string(), "' ", runs, " ", max_length);
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run ", command));
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int exit_status = pclose(pipe);
  std::filesystem::remove(texts);
  if (exit_status != 0) {
    return absl::InternalError(absl::StrCat("the Python peer failed: ", command));
  }
  const nlohmann::json report = nlohmann::json::parse(output, nullptr, false);
  if (!report.is_object() || !report.contains("seconds") || !report.contains("vocab")) {
    return absl::InternalError(absl::StrCat("unexpected Python peer output: ", output));
  }
  return Result{Median(report["seconds"].get<std::vector<double>>()),
                report["vocab"].get<int32_t>()};
}

absl::Status Run() {
  const int runs = absl::GetFlag(FLAGS_runs);
  const int max_length = absl::GetFlag(FLAGS_max_length);
  if (runs < 1 || max_length < 1) {
    return absl::InvalidArgumentError("--runs and --max_length must be at least 1");
  }
  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::ingest::NewsgroupsArchivePath(KILN_SOURCE_DIR);
  absl::StatusOr<std::vector<NewsgroupsPost>> posts =
      kiln::ingest::ReadNewsgroupsArchive(archive);
  if (!posts.ok()) return posts.status();
  size_t bytes = 0;
  for (const NewsgroupsPost& post : *posts) bytes += post.body.size();

  absl::StatusOr<Result> cpp = RunCpp(*posts, runs, max_length, /*scan_whole_text=*/false);
  if (!cpp.ok()) return cpp.status();
  absl::StatusOr<Result> cpp_whole = RunCpp(*posts, runs, max_length, /*scan_whole_text=*/true);
  if (!cpp_whole.ok()) return cpp_whole.status();
  absl::StatusOr<Result> python = RunPython(*posts, runs, max_length);
  if (!python.ok()) return python.status();

  const double megabytes = static_cast<double>(bytes) / 1e6;
  const double count = static_cast<double>(posts->size());
  absl::PrintF("%d posts, %.2f MB of UTF-8, max_length %d, median of %d runs, one thread\n",
               posts->size(), megabytes, max_length, runs);
  const auto print = [&](const std::string& name, const Result& result) {
    absl::PrintF("%-40s %8.4f s %9.1f MB/s %9.0f posts/s  (vocabulary %d ids)\n", name,
                 result.median_seconds, megabytes / result.median_seconds,
                 count / result.median_seconds, result.vocab_size);
  };
  print(absl::StrCat("C++ ", kiln::text::kSpecVersion, " (TextEncoder)"), *cpp);
  print("C++, every text tokenized to its end", *cpp_whole);
  print("Python re (torch_baseline.py)", *python);
  absl::PrintF("ratio C++ / Python: %.1fx (target >= 20x); %.1fx when C++ scans whole texts\n",
               python->median_seconds / cpp->median_seconds,
               python->median_seconds / cpp_whole->median_seconds);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "kiln_bench_text: " << status << "\n";
    return 1;
  }
  return 0;
}
