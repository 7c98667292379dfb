// The scale corpus's invariants: copy 0 is the tarball's import, every copy
// keeps its original's split (years inside the default job's ranges) and a
// training copy its original's side of the validation holdout, no
// two copies of a post are byte-identical, the vocabulary grows, a seed
// fixes everything, and `kiln ingest`'s JSON-lines reader takes the lines.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/scale/scaled_corpus.h"
#include "clients/ingest/newsgroups_source.h"
#include "clients/ingest/text_sources.h"
#include "gtest/gtest.h"
#include "services/text/tokenizer.h"
#include "services/training/job_spec.h"
#include "tests/support/write_file.h"

namespace kiln::bench {
namespace {

ingest::NewsgroupsPost Post(const std::string& split, const std::string& category,
                            const std::string& id) {
  ingest::NewsgroupsPost post;
  post.split = split;
  post.category = category;
  post.id = id;
  post.body =
      "From: someone@example.edu (Some One)\nSubject: Re: orbital mechanics\n"
      "Organization: Example University\nLines: 4\n\n"
      "The shuttle reached orbit after a delayed launch, and the crew deployed the "
      "telescope on the second day. Reaction wheels kept it pointed while engineers "
      "checked the solar arrays.\n";
  return post;
}

// C++17 has no designated initializers.
ScaleOptions Options(int copies, uint64_t seed = 0, double edit_rate = 0.05) {
  ScaleOptions options;
  options.copies = copies;
  options.seed = seed;
  options.edit_rate = edit_rate;
  return options;
}

std::vector<ScaledPost> Copies(const ingest::NewsgroupsPost& post, const ScaleOptions& options) {
  std::vector<ScaledPost> copies;
  const absl::Status status = ForEachCopy(post, options, [&](const ScaledPost& copy) {
    copies.push_back(copy);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return copies;
}

bool InRanges(int year, const google::protobuf::RepeatedPtrField<kiln::v1::YearRange>& ranges) {
  for (const auto& range : ranges) {
    if (year >= range.first() && year <= range.last()) return true;
  }
  return false;
}

TEST(ScaledCorpusTest, CopyZeroIsTheTarballImport) {
  const ingest::NewsgroupsPost post = Post("train", "sci.space", "59848");
  const std::vector<ScaledPost> copies = Copies(post, Options(3, 7));
  ASSERT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[0].body, post.body);
  EXPECT_EQ(copies[0].year, ingest::NewsgroupsYear(7, "train", "sci.space", "59848"));
  EXPECT_EQ(copies[0].source, "20news-bydate-train/sci.space/59848");
  EXPECT_EQ(copies[2].source, "20news-bydate-train/sci.space/59848#2");
}

TEST(ScaledCorpusTest, CopiesKeepTheirSplitInTheDefaultJobsYears) {
  kiln::v1::JobSpec job;
  training::ApplyDefaults(job, 3);
  for (const char* split : {"train", "test"}) {
    const std::vector<ScaledPost> copies = Copies(Post(split, "rec.autos", "101"), Options(200));
    const bool train = std::string(split) == "train";
    std::set<int> years;
    for (const ScaledPost& copy : copies) {
      EXPECT_EQ(copy.split, split);
      EXPECT_EQ(copy.category, "rec.autos");
      EXPECT_EQ(InRanges(copy.year, job.train_years()), train) << split << " " << copy.year;
      EXPECT_EQ(InRanges(copy.year, job.test_years()), !train) << split << " " << copy.year;
      years.insert(copy.year);
    }
    // Fresh years, not the original's over and over.
    EXPECT_GT(years.size(), train ? 20u : 8u) << split;
  }
}

TEST(ScaledCorpusTest, TrainingCopiesStayOnTheirOriginalsSideOfTheHoldout) {
  const double fraction = ScaleOptions().validation_fraction;
  int held_out_originals = 0;
  for (int id = 0; id < 60; ++id) {
    const std::vector<ScaledPost> copies =
        Copies(Post("train", "sci.space", absl::StrCat(id)), Options(20));
    const bool held_out = IsHeldOut(copies[0], fraction);
    held_out_originals += held_out;
    for (const ScaledPost& copy : copies) {
      EXPECT_EQ(IsHeldOut(copy, fraction), held_out) << copy.source;
    }
  }
  // Both sides were exercised: about 10% of the originals are held out.
  EXPECT_GT(held_out_originals, 0);
  EXPECT_LT(held_out_originals, 60);
}

TEST(ScaledCorpusTest, NoTwoCopiesOfAPostAreByteIdentical) {
  ingest::NewsgroupsPost wordless = Post("test", "sci.med", "7");
  wordless.body = "12 34 ?? 56";  // nothing to edit: newlines make the bytes new
  for (const ingest::NewsgroupsPost& post : {Post("train", "sci.med", "7"), wordless}) {
    std::set<std::string> bodies;
    for (const ScaledPost& copy : Copies(post, Options(300))) bodies.insert(copy.body);
    EXPECT_EQ(bodies.size(), 300u) << post.body;
  }
}

TEST(ScaledCorpusTest, CopiesBringNewWordsButStayClose) {
  const ingest::NewsgroupsPost post = Post("train", "sci.space", "1");
  const std::vector<std::string> original = text::Tokenize(post.body);
  const std::set<std::string> original_words(original.begin(), original.end());
  std::set<std::string> words = original_words;
  for (const ScaledPost& copy : Copies(post, Options(50))) {
    const std::vector<std::string> tokens = text::Tokenize(copy.body);
    words.insert(tokens.begin(), tokens.end());
    int unchanged = 0;
    for (const std::string& token : tokens) unchanged += original_words.count(token);
    // About 5% of the words edited: the post stays the same post.
    EXPECT_GT(unchanged, static_cast<int>(0.8 * static_cast<double>(original.size())));
  }
  EXPECT_GT(words.size(), original_words.size() + 20);
}

TEST(ScaledCorpusTest, ASeedFixesTheCorpus) {
  const ingest::NewsgroupsPost post = Post("train", "comp.graphics", "42");
  const std::vector<ScaledPost> first = Copies(post, Options(20, 3));
  const std::vector<ScaledPost> again = Copies(post, Options(20, 3));
  const std::vector<ScaledPost> other = Copies(post, Options(20, 4));
  const std::vector<ScaledPost> fewer = Copies(post, Options(5, 3));
  int differing = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].body, again[i].body);
    EXPECT_EQ(first[i].year, again[i].year);
    differing += first[i].body != other[i].body;
    // A copy does not depend on how many others there are.
    if (i < fewer.size()) {
      EXPECT_EQ(first[i].body, fewer[i].body);
    }
  }
  EXPECT_GE(differing, 19);
}

TEST(ScaledCorpusTest, KilnIngestReadsTheLines) {
  const std::vector<ScaledPost> copies = Copies(Post("test", "sci.space", "9"), Options(4));
  std::string lines;
  for (const ScaledPost& copy : copies) absl::StrAppend(&lines, ToJsonLine(copy), "\n");
  const std::string path =
      (std::filesystem::temp_directory_path() / absl::StrCat("scale-corpus-", getpid(), ".jsonl"))
          .string();
  ASSERT_TRUE(testing::WriteFile(path, lines).ok());
  auto source = ingest::OpenJsonlSource(path);
  ASSERT_TRUE(source.ok()) << source.status();
  for (const ScaledPost& copy : copies) {
    ingest::RawPost read;
    ASSERT_TRUE(*(*source)->Next(read));
    EXPECT_EQ(read.problem, "");
    EXPECT_EQ(read.body, copy.body);
    EXPECT_EQ(read.category, copy.category);
    EXPECT_EQ(read.year, copy.year);
    EXPECT_EQ(read.source, copy.source);
  }
  ingest::RawPost past_end;
  EXPECT_FALSE(*(*source)->Next(past_end));
  std::filesystem::remove(path);
}

TEST(ScaledCorpusTest, RefusesCopiesOutsideTheirRange) {
  EXPECT_FALSE(ValidateScaleOptions(Options(0)).ok());
  EXPECT_FALSE(ValidateScaleOptions(Options(kMaxCopies + 1)).ok());
  EXPECT_FALSE(ValidateScaleOptions(Options(2, 0, 0)).ok());
  ScaleOptions too_much_validation = Options(2);
  too_much_validation.validation_fraction = 0.6;
  EXPECT_FALSE(ValidateScaleOptions(too_much_validation).ok());
  EXPECT_TRUE(ValidateScaleOptions(Options(100)).ok());
}

}  // namespace
}  // namespace kiln::bench
