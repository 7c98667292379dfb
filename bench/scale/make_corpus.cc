// kiln_make_corpus: the 20news corpus multiplied N times as JSON lines for
// `kiln ingest` (bench/scale/README.md). Streams: memory stays that of the
// original corpus whatever N is.
//
//   kiln_make_corpus --copies=10 --out=corpus-10x.jsonl
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/scale/scaled_corpus.h"
#include "clients/ingest/newsgroups_archive.h"

ABSL_FLAG(std::string, archive, "",
          "20news-bydate.tar.gz (default: $KILN_DATASET, else ../shared/datasets/)");
ABSL_FLAG(int, copies, 1, "posts per original post, the original included (1 = the plain import)");
ABSL_FLAG(uint64_t, seed, 0, "seed of the years (as kiln ingest --seed) and of the edits");
ABSL_FLAG(double, edit_rate, 0.05, "share of a copy's words that are edited");
ABSL_FLAG(double, validation_fraction, 0.1,
          "the job validation_fraction whose holdout side a training post's copies keep "
          "(0: left to chance)");
ABSL_FLAG(std::string, out, "", "the JSON-lines file to write; - for standard output");

namespace kiln::bench {
namespace {

// Counts of what was written, for the summary line.
struct Written {
  int64_t posts = 0;
  int64_t train = 0;
  int64_t bytes = 0;
};

absl::Status Write(const std::string& archive, const ScaleOptions& options, std::FILE* out,
                   Written& written) {
  std::string line;
  return ForEachScaledPost(archive, options, [&](const ScaledPost& post) {
    line = ToJsonLine(post);
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return absl::DataLossError(absl::StrCat("writing failed: ", std::strerror(errno)));
    }
    ++written.posts;
    if (post.split == "train") ++written.train;
    written.bytes += static_cast<int64_t>(line.size());
    return absl::OkStatus();
  });
}

int Run(const std::string& archive, const ScaleOptions& options, const std::string& out_path) {
  const bool to_stdout = out_path == "-";
  // Written aside and renamed at the end: an interrupted run never leaves
  // a truncated corpus under the name a benchmark would reuse.
  const std::string partial = out_path + ".partial";
  std::FILE* out = to_stdout ? stdout : std::fopen(partial.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "kiln_make_corpus: cannot write %s: %s\n", partial.c_str(),
                 std::strerror(errno));
    return 1;
  }
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof(buffer));
  const absl::Time start = absl::Now();
  Written written;
  absl::Status status = Write(archive, options, out, written);
  if (std::fflush(out) != 0 && status.ok()) {
    status = absl::DataLossError(absl::StrCat("writing failed: ", std::strerror(errno)));
  }
  if (!to_stdout) {
    if (std::fclose(out) != 0 && status.ok()) {
      status = absl::DataLossError(absl::StrCat("closing failed: ", std::strerror(errno)));
    }
    if (status.ok() && std::rename(partial.c_str(), out_path.c_str()) != 0) {
      status = absl::DataLossError(absl::StrCat("renaming ", partial, ": ", std::strerror(errno)));
    }
    if (!status.ok()) std::remove(partial.c_str());
  }
  if (!status.ok()) {
    std::fprintf(stderr, "kiln_make_corpus: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::fprintf(stderr,
               "kiln_make_corpus: %s: %lld posts (%lld train, %lld test), %.1f MB, %d copies "
               "per post, seed %llu, in %.1f s\n",
               to_stdout ? "stdout" : out_path.c_str(), static_cast<long long>(written.posts),
               static_cast<long long>(written.train),
               static_cast<long long>(written.posts - written.train),
               static_cast<double>(written.bytes) / 1e6, options.copies,
               static_cast<unsigned long long>(options.seed),
               absl::ToDoubleSeconds(absl::Now() - start));
  return 0;
}

}  // namespace
}  // namespace kiln::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "the 20news corpus multiplied N times, as JSON lines for kiln ingest:\n"
      "  kiln_make_corpus --copies=10 --out=corpus-10x.jsonl");
  absl::ParseCommandLine(argc, argv);
  kiln::bench::ScaleOptions options;
  options.copies = absl::GetFlag(FLAGS_copies);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.edit_rate = absl::GetFlag(FLAGS_edit_rate);
  options.validation_fraction = absl::GetFlag(FLAGS_validation_fraction);
  if (absl::Status valid = kiln::bench::ValidateScaleOptions(options); !valid.ok()) {
    std::fprintf(stderr, "kiln_make_corpus: --%s\n", std::string(valid.message()).c_str());
    return 2;
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::fprintf(stderr, "kiln_make_corpus: --out is required (a path, or - for stdout)\n");
    return 2;
  }
  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::ingest::NewsgroupsArchivePath(KILN_SOURCE_DIR);
  return kiln::bench::Run(archive, options, out);
}
