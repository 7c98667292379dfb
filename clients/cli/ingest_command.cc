// kiln ingest PATH: loads posts from a 20news tarball, the article's SQLite
// database, JSONL or CSV into the data service.
//
// Exit codes: 0 all posts stored or already present; 3 some posts were
// rejected (each is listed); 1 the source or the service failed.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/progress_bar.h"
#include "clients/ingest/post_source.h"
#include "kiln/v1/data.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/validation.h"
#include "services/data/post_validation.h"

namespace kiln::cli {
namespace {

constexpr int kBatchPosts = 500;
// Bodies per message: with one post of at most 1 MiB on top, a message stays
// under gRPC's default limit of 4 MiB.
constexpr size_t kBatchBytes = 2 << 20;
constexpr size_t kMaxEchoedSource = 512;

struct IngestOptions {
  std::string path;
  std::string format = "auto";
  uint64_t seed = 0;
};

struct RejectedPost {
  std::string source;
  std::string field;
  std::string reason;
};

int Ingest(const CliContext& context, const IngestOptions& options) {
  absl::StatusOr<ingest::Format> format = ingest::ParseFormat(options.format);
  if (!format.ok()) {
    std::cerr << "kiln ingest: " << format.status().message() << "\n";
    return 1;
  }
  ProgressBar progress("ingest");
  progress.Update(-1, "reading " + options.path);
  absl::StatusOr<std::unique_ptr<ingest::PostSource>> source =
      ingest::OpenPostSource(options.path, {*format, options.seed});
  if (!source.ok()) {
    progress.Finish();
    std::cerr << "kiln ingest: " << source.status().message() << "\n";
    return 1;
  }

  auto stub = kiln::v1::DataService::NewStub(MakeChannel(context.data_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token);
  kiln::v1::ImportPostsResponse response;
  auto writer = stub->ImportPosts(&call, &response);

  std::vector<RejectedPost> rejected;  // problems found before sending
  std::vector<std::string> sent_sources;  // server index -> source
  kiln::v1::ImportPostsRequest batch;
  size_t batch_bytes = 0;
  int64_t read = 0;
  bool stream_broken = false;
  auto flush = [&] {
    if (batch.posts().empty() || stream_broken) return;
    if (!writer->Write(batch)) stream_broken = true;
    batch.Clear();
    batch_bytes = 0;
  };

  absl::Status read_status;
  ingest::RawPost post;
  while (!stream_broken) {
    absl::StatusOr<bool> more = (*source)->Next(post);
    if (!more.ok()) {
      read_status = more.status();
      break;
    }
    if (!*more) break;
    ++read;
    if (!post.problem.empty()) {
      rejected.push_back({post.source, "record", post.problem});
      continue;
    }
    // The service's own rules, checked here first: one post it would refuse
    // (too big for a message, a year past int32) is rejected alone instead
    // of breaking the stream, and is not sent at all.
    if (auto year = data::ValidateYear(post.year)) {
      rejected.push_back({post.source, year->field(), year->reason()});
      continue;
    }
    kiln::v1::PostInput input;
    input.set_body(std::move(post.body));
    input.set_category(std::move(post.category));
    input.set_year(static_cast<int32_t>(post.year));
    input.set_source(post.source);
    if (auto rejection = data::ValidatePost(input)) {
      rejected.push_back({post.source, rejection->field(), rejection->reason()});
      continue;
    }
    if (!batch.posts().empty() && batch_bytes + input.body().size() > kBatchBytes) flush();
    sent_sources.push_back(std::move(post.source));
    batch_bytes += input.body().size();
    *batch.add_posts() = std::move(input);
    if (batch.posts_size() >= kBatchPosts) flush();
    if (read % 256 == 0) {
      progress.Update((*source)->Progress(), absl::StrCat(read, " posts"));
    }
  }
  flush();
  progress.Finish();
  if (!read_status.ok()) {
    // Cancel rather than commit a half-read source silently.
    call.TryCancel();
    writer->Finish();
    std::cerr << "kiln ingest: " << read_status.message() << "\n";
    return 1;
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    std::cerr << "kiln ingest: the data service at " << context.data_address
              << " refused the import: " << status.error_message() << "\n";
    return 1;
  }
  for (const auto& rejection : response.rejections()) {
    const std::string& where = rejection.index() < static_cast<int64_t>(sent_sources.size())
                                   ? sent_sources[rejection.index()]
                                   : rejection.source();
    rejected.push_back({where, rejection.field(), rejection.reason()});
  }
  for (RejectedPost& r : rejected) r.source = EchoableUtf8(r.source, kMaxEchoedSource);

  if (context.json) {
    nlohmann::json out = {{"path", options.path},
                          {"read", read},
                          {"imported", response.imported()},
                          {"skipped", response.skipped()},
                          {"rejected", rejected.size()},
                          {"rejections", nlohmann::json::array()}};
    for (const auto& r : rejected) {
      out["rejections"].push_back({{"source", r.source}, {"field", r.field}, {"reason", r.reason}});
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << absl::StrFormat("%s: %d posts read, %d imported, %d skipped (already stored), %d rejected\n",
                                 options.path, read, response.imported(), response.skipped(),
                                 rejected.size());
    for (const auto& r : rejected) {
      std::cout << "  rejected " << r.source << ": " << r.reason << "\n";
    }
  }
  return rejected.empty() ? 0 : 3;
}

}  // namespace

void AddIngestCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* command = app.add_subcommand(
      "ingest", "load posts (20news .tar.gz, SQLite news table, .jsonl, .csv) into Kiln");
  auto options = std::make_shared<IngestOptions>();
  command->add_option("path", options->path, "file to read")->required()->check(CLI::ExistingFile);
  command->add_option("--format", options->format, "auto, 20news, sqlite, jsonl or csv")
      ->capture_default_str();
  command->add_option("--seed", options->seed,
                      "20news: seed of the deterministic train/test years")
      ->capture_default_str();
  command->callback([&context, &run, options] {
    run = [&context, options] { return Ingest(context, *options); };
  });
}

}  // namespace kiln::cli
