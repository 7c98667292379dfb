// kiln posts: stored posts of a dataset as JSON lines (for inspection,
// exports, and feeding `kiln predict --file`), and kiln stats.
#include <iostream>

#include "absl/strings/str_split.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/table.h"
#include "clients/cli/year_ranges.h"
#include "kiln/v1/data.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/proto_json.h"
#include "services/data/data_client.h"

namespace kiln::cli {
namespace {

struct PostsOptions {
  std::string categories;
  std::string years = "1-9999";
  int64_t limit = 0;
  double holdout = 0;  // 0: every post
  std::string side = "held-out";
};

int Posts(const CliContext& context, const PostsOptions& options) {
  kiln::v1::DatasetSpec dataset;
  for (absl::string_view c : absl::StrSplit(options.categories, ',', absl::SkipWhitespace())) {
    dataset.add_categories(std::string(c));
  }
  if (!ParseYearRanges(options.years, dataset.mutable_years())) {
    std::cerr << "kiln posts: --years wants ranges like 1990-2000[,2001-2002]\n";
    return 2;
  }
  if (options.holdout != 0) {
    // A job with validation_fraction F validates on the held-out side of
    // holdout F and trains on the rest.
    dataset.mutable_holdout()->set_fraction(options.holdout);
    dataset.mutable_holdout()->set_side(options.side == "rest" ? kiln::v1::HOLDOUT_SIDE_REST
                                                               : kiln::v1::HOLDOUT_SIDE_HELD_OUT);
  }
  data::DataClient client(MakeChannel(context.data_address), context.token);
  int64_t written = 0;
  const absl::Status status = client.ForEachPost(dataset, {}, [&](const kiln::v1::Post& post) {
    if (options.limit > 0 && written >= options.limit) return absl::CancelledError("limit");
    std::cout << nlohmann::json{{"id", post.id()},
                                {"category", post.category()},
                                {"year", post.year()},
                                {"source", post.source()},
                                {"text", post.body()}}
                     .dump()
              << "\n";
    ++written;
    return absl::OkStatus();
  });
  if (!status.ok() && !(options.limit > 0 && written >= options.limit)) {
    std::cerr << "kiln posts: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

int Stats(const CliContext& context) {
  auto stub = kiln::v1::DataService::NewStub(MakeChannel(context.data_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::GetStatsResponse stats;
  if (grpc::Status status = stub->GetStats(&call, {}, &stats); !status.ok()) {
    std::cerr << "kiln stats: " << status.error_message() << "\n";
    return 1;
  }
  if (context.json) {
    std::cout << ToJson(stats) << "\n";
    return 0;
  }
  std::cout << stats.total() << " posts, years " << stats.min_year() << "-" << stats.max_year()
            << "\n";
  Table table({"CATEGORY", "POSTS"});
  for (const auto& c : stats.categories()) table.AddRow({c.category(), std::to_string(c.count())});
  table.Print(std::cout);
  return 0;
}

}  // namespace

void AddPostsCommands(CLI::App& app, CliContext& context, Action& run) {
  auto options = std::make_shared<PostsOptions>();
  auto* posts = app.add_subcommand("posts", "print stored posts as JSON lines");
  posts->add_option("--categories", options->categories, "comma-separated categories")->required();
  posts->add_option("--years", options->years, "year ranges, e.g. 1990-2000")->capture_default_str();
  posts->add_option("--limit", options->limit, "at most this many (0 = all)");
  posts->add_option("--holdout", options->holdout,
                    "only one side of the split a job with this validation_fraction makes");
  posts->add_option("--side", options->side,
                    "with --holdout: held-out (the validation posts, default) or rest")
      ->check(CLI::IsMember({"held-out", "rest"}));
  posts->callback([&context, &run, options] {
    run = [&context, options] { return Posts(context, *options); };
  });
  app.add_subcommand("stats", "how many posts per category")->callback([&context, &run] {
    run = [&context] { return Stats(context); };
  });
}

}  // namespace kiln::cli
