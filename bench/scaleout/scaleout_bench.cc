// Data-parallel scale-out of Kiln's trainer: the default job's model on the
// 8 topics, trained by world size 1, 2 and 4, each rank its own process
// with one thread, on loopback or in network namespaces joined by links
// shaped with tc tbf (netns.sh). Prints the time to a test recall@1
// target, the final recall and the traffic per step of each world size.
//
// The coordinator (no --rank) starts the ranks as child processes of this
// binary; rank 0 writes its figures as JSON to --result_file.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/common/newsgroups_split.h"
#include "nlohmann/json.hpp"
#include "services/model/communicator.h"
#include "services/model/trainer.h"

ABSL_FLAG(std::string, archive, "", "20news-bydate.tar.gz; default $KILN_DATASET");
ABSL_FLAG(std::string, world_sizes, "1,2,4", "world sizes to run, comma-separated");
ABSL_FLAG(std::string, network, "loopback",
          "loopback, or netns: ranks in the namespaces netns.sh made (kiln-so-R, 10.77.0.R+1)");
ABSL_FLAG(int, epochs, 30, "most epochs");
ABSL_FLAG(double, target, 0.95, "test recall@1 to reach");
ABSL_FLAG(uint64_t, seed, 0, "the job's seed");
ABSL_FLAG(int, port, 29517, "rank 0's store port");
ABSL_FLAG(bool, collectives, false,
          "measure the collectives alone instead: all-reduce and all-gather seconds by size");
// Set on the rank processes by the coordinator.
ABSL_FLAG(int, rank, -1, "internal: run as this rank");
ABSL_FLAG(int, world_size, 1, "internal: the world size of the rank");
ABSL_FLAG(std::string, store_host, "127.0.0.1", "internal: rank 0's address");
ABSL_FLAG(std::string, transport_host, "127.0.0.1", "internal: this rank's address");
ABSL_FLAG(std::string, result_file, "", "internal: where rank 0 writes its figures");

namespace {

using kiln::bench::NewsgroupsSplit;
using nlohmann::json;

// The default job's tfidf model (services/training/job_spec.cc).
kiln::model::ModelShape DefaultShape(const NewsgroupsSplit& data) {
  kiln::model::ModelShape shape;
  shape.architecture = kiln::model::Architecture::kTfidf;
  shape.vocab_size = data.vocab_size;
  shape.max_length = 256;
  shape.hidden_units = 48;
  shape.embedding_dim = 48;
  shape.num_classes = static_cast<int>(data.topics.size());
  shape.dropout = 0.5f;
  return shape;
}

kiln::model::TrainingOptions DefaultOptions() {
  kiln::model::TrainingOptions options;
  options.epochs = absl::GetFlag(FLAGS_epochs);
  options.batch_size = 64;
  options.learning_rate = 5e-3f;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.threads = 1;
  return options;
}

// What one collective costs here, by size: the floor under any step that
// synchronises.
absl::Status MeasureCollectives(kiln::model::Communicator& communicator, int rank) {
  json sizes = json::array();
  for (int64_t floats : {int64_t{1}, int64_t{1} << 10, int64_t{1} << 14, int64_t{1} << 17,
                         int64_t{1} << 20, int64_t{1} << 22}) {
    std::vector<float> values(static_cast<size_t>(floats), 1.0f);
    std::vector<float> gathered(values.size() * communicator.world_size());
    double reduce = 0, gather = 0;
    const int repeats = floats >= (1 << 20) ? 5 : 50;
    for (int i = 0; i < repeats; ++i) {
      auto start = std::chrono::steady_clock::now();
      if (absl::Status s = communicator.AllReduceSum(absl::MakeSpan(values)); !s.ok()) return s;
      auto middle = std::chrono::steady_clock::now();
      if (absl::Status s = communicator.AllGather(values, absl::MakeSpan(gathered)); !s.ok()) {
        return s;
      }
      auto end = std::chrono::steady_clock::now();
      reduce += std::chrono::duration<double>(middle - start).count();
      gather += std::chrono::duration<double>(end - middle).count();
    }
    sizes.push_back({{"bytes", floats * 4},
                     {"all_reduce_ms", 1000 * reduce / repeats},
                     {"all_gather_ms", 1000 * gather / repeats}});
  }
  if (rank == 0) std::ofstream(absl::GetFlag(FLAGS_result_file)) << sizes.dump() << "\n";
  return absl::OkStatus();
}

// One rank: trains until the target or the last epoch; rank 0 scores the
// test set after every epoch (outside the epoch's time) and tells the others
// whether to go on.
absl::Status RunRank(int rank, int world_size) {
  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::bench::DefaultArchive();
  absl::StatusOr<NewsgroupsSplit> data =
      kiln::bench::LoadNewsgroupsSplit(archive, kiln::bench::SplitOptions{});
  if (!data.ok()) return data.status();

  std::unique_ptr<kiln::model::Communicator> communicator;
  if (world_size > 1) {
    kiln::model::DistributedOptions options;
    options.rank = rank;
    options.world_size = world_size;
    options.store_host = absl::GetFlag(FLAGS_store_host);
    options.store_port = absl::GetFlag(FLAGS_port);
    options.transport_host = absl::GetFlag(FLAGS_transport_host);
    options.key_prefix = "kiln_bench_scaleout";
    options.timeout = absl::Seconds(120);
    absl::StatusOr<std::unique_ptr<kiln::model::Communicator>> created =
        kiln::model::Communicator::Create(options);
    if (!created.ok()) return created.status();
    communicator = std::move(*created);
    if (absl::Status status = communicator->Connect(); !status.ok()) return status;
  }
  if (absl::GetFlag(FLAGS_collectives)) return MeasureCollectives(*communicator, rank);
  const kiln::model::TrainingOptions options = DefaultOptions();
  absl::StatusOr<std::unique_ptr<kiln::model::Trainer>> trainer = kiln::model::Trainer::Create(
      DefaultShape(*data), options,
      kiln::model::ShardExamples(data->train, 256, rank, world_size), communicator.get());
  if (!trainer.ok()) return trainer.status();

  const double target = absl::GetFlag(FLAGS_target);
  const int64_t steps_per_epoch =
      ((*trainer)->examples() + options.batch_size - 1) / options.batch_size;
  json epochs = json::array();
  double seconds = 0, seconds_to_target = -1;
  int epochs_to_target = 0;
  kiln::model::CollectiveTraffic training_traffic;
  double recall = 0;
  while (!(*trainer)->done()) {
    const kiln::model::CollectiveTraffic before =
        communicator ? communicator->traffic() : kiln::model::CollectiveTraffic{};
    absl::StatusOr<kiln::model::EpochMetrics> epoch = (*trainer)->RunEpoch();
    if (!epoch.ok()) return epoch.status();
    if (communicator) {
      training_traffic.collectives += communicator->traffic().collectives - before.collectives;
      training_traffic.input_bytes += communicator->traffic().input_bytes - before.input_bytes;
    }
    seconds += epoch->seconds;
    float go_on = 0;
    if (rank == 0) {
      absl::StatusOr<kiln::bench::Recall> scored =
          kiln::bench::ScoreRecall((*trainer)->ExportWeights(), data->test);
      if (!scored.ok()) return scored.status();
      recall = scored->at1;
      epochs.push_back({{"epoch", epoch->epoch}, {"seconds", epoch->seconds}, {"recall@1", recall}});
      if (seconds_to_target < 0 && recall >= target) {
        seconds_to_target = seconds;
        epochs_to_target = epoch->epoch;
      }
      go_on = seconds_to_target < 0 ? 1 : 0;
    }
    if (communicator) {
      if (absl::Status status = communicator->AllReduceSum(absl::MakeSpan(&go_on, 1));
          !status.ok())
        return status;
    }
    if (go_on == 0) break;
  }
  if (rank != 0) return absl::OkStatus();
  const int64_t steps = steps_per_epoch * static_cast<int64_t>(epochs.size());
  const json result = {
      {"world_size", world_size},
      {"epochs", epochs},
      {"seconds_to_target", seconds_to_target},
      {"epochs_to_target", epochs_to_target},
      {"final_recall@1", recall},
      {"steps", steps},
      {"collectives_per_step", static_cast<double>(training_traffic.collectives) / steps},
      {"input_bytes_per_step", static_cast<double>(training_traffic.input_bytes) / steps},
  };
  std::ofstream(absl::GetFlag(FLAGS_result_file)) << result.dump() << "\n";
  return absl::OkStatus();
}

std::string RankAddress(int rank) {
  return absl::GetFlag(FLAGS_network) == "netns" ? absl::StrCat("10.77.0.", rank + 1)
                                                  : "127.0.0.1";
}

// Bytes the rank's interface sent so far (netns only; its veth is kso<R>).
int64_t InterfaceTxBytes(int rank) {
  const std::string command = absl::StrCat("ip netns exec kiln-so-", rank,
                                           " cat /sys/class/net/kso", rank,
                                           "/statistics/tx_bytes 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return 0;
  char buffer[64] = {};
  const size_t n = fread(buffer, 1, sizeof buffer - 1, pipe);
  pclose(pipe);
  int64_t bytes = 0;
  (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(buffer, n)), &bytes);
  return bytes;
}

absl::StatusOr<json> RunWorld(int world_size) {
  const bool netns = absl::GetFlag(FLAGS_network) == "netns";
  const std::string result_file =
      absl::StrCat("/tmp/kiln_bench_scaleout.", getpid(), ".", world_size, ".json");
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) {
    return absl::InternalError("cannot read /proc/self/exe");
  }
  const int64_t tx_before = netns ? InterfaceTxBytes(0) : 0;
  std::vector<pid_t> children;
  for (int rank = 0; rank < world_size; ++rank) {
    std::vector<std::string> args;
    if (netns) args = {"ip", "netns", "exec", absl::StrCat("kiln-so-", rank)};
    args.insert(args.end(),
                {self, absl::StrCat("--rank=", rank), absl::StrCat("--world_size=", world_size),
                 absl::StrCat("--store_host=", RankAddress(0)),
                 absl::StrCat("--transport_host=", RankAddress(rank)),
                 absl::StrCat("--port=", absl::GetFlag(FLAGS_port)),
                 absl::StrCat("--epochs=", absl::GetFlag(FLAGS_epochs)),
                 absl::StrCat("--target=", absl::GetFlag(FLAGS_target)),
                 absl::StrCat("--seed=", absl::GetFlag(FLAGS_seed)),
                 absl::StrCat("--collectives=", absl::GetFlag(FLAGS_collectives)),
                 absl::StrCat("--archive=", absl::GetFlag(FLAGS_archive)),
                 absl::StrCat("--result_file=", result_file)});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t child = 0;
    if (posix_spawnp(&child, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      return absl::InternalError(absl::StrCat("cannot start rank ", rank));
    }
    children.push_back(child);
  }
  bool failed = false;
  for (pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  if (failed) return absl::InternalError(absl::StrCat("a rank of world size ", world_size, " failed"));
  std::ifstream in(result_file);
  json result = json::parse(in, nullptr, false);
  std::remove(result_file.c_str());
  if (result.is_array()) return result;  // --collectives
  if (!result.is_object()) return absl::InternalError("rank 0 wrote no figures");
  if (netns && world_size > 1) {
    result["wire_bytes_per_step"] =
        static_cast<double>(InterfaceTxBytes(0) - tx_before) / result["steps"].get<double>();
  }
  return result;
}

int MeasureCollectivesOfWorld() {
  for (absl::string_view size : absl::StrSplit(absl::GetFlag(FLAGS_world_sizes), ',')) {
    int world_size = 0;
    if (!absl::SimpleAtoi(size, &world_size) || world_size < 2) continue;
    absl::StatusOr<json> sizes = RunWorld(world_size);
    if (!sizes.ok()) {
      std::cerr << "kiln_bench_scaleout: " << sizes.status() << "\n";
      return 1;
    }
    std::cout << absl::StrFormat("network %s, world size %d\nBYTES      ALL-REDUCE MS  MB/S     ALL-GATHER MS  MB/S\n",
                                 absl::GetFlag(FLAGS_network), world_size);
    for (const json& row : *sizes) {
      const double bytes = row["bytes"].get<double>();
      const double reduce = row["all_reduce_ms"].get<double>();
      const double gather = row["all_gather_ms"].get<double>();
      std::cout << absl::StrFormat("%-10.0f %-14.3f %-8.0f %-14.3f %.0f\n", bytes, reduce,
                                   bytes / reduce / 1000, gather, bytes / gather / 1000);
    }
  }
  return 0;
}

int Coordinate() {
  if (absl::GetFlag(FLAGS_collectives)) return MeasureCollectivesOfWorld();
  std::vector<json> results;
  for (absl::string_view size : absl::StrSplit(absl::GetFlag(FLAGS_world_sizes), ',')) {
    int world_size = 0;
    if (!absl::SimpleAtoi(size, &world_size) || world_size < 1 || world_size > 64) {
      std::cerr << "kiln_bench_scaleout: bad world size " << size << "\n";
      return 2;
    }
    absl::StatusOr<json> result = RunWorld(world_size);
    if (!result.ok()) {
      std::cerr << "kiln_bench_scaleout: " << result.status() << "\n";
      return 1;
    }
    std::cout << "# " << result->dump() << "\n" << std::flush;
    results.push_back(*std::move(result));
  }
  const double base = results.front()["seconds_to_target"].get<double>();
  std::cout << absl::StrFormat(
      "network %s, target test recall@1 %.3f, one thread per rank\n"
      "WORLD  EPOCHS  SECONDS  VS FIRST  FINAL R@1  COLLECTIVES/STEP  INPUT KB/STEP  WIRE KB/STEP\n",
      absl::GetFlag(FLAGS_network), absl::GetFlag(FLAGS_target));
  for (const json& r : results) {
    const double seconds = r["seconds_to_target"].get<double>();
    std::cout << absl::StrFormat(
        "%-6d %-7s %-8s %-9s %-10.4f %-17.1f %-14.1f %s\n", r["world_size"].get<int>(),
        seconds < 0 ? "-" : absl::StrCat(r["epochs_to_target"].get<int>()),
        seconds < 0 ? "not met" : absl::StrFormat("%.2f", seconds),
        seconds < 0 || base <= 0 ? "-" : absl::StrFormat("%.2fx", seconds / base),
        r["final_recall@1"].get<double>(), r["collectives_per_step"].get<double>(),
        r["input_bytes_per_step"].get<double>() / 1024,
        r.contains("wire_bytes_per_step")
            ? absl::StrFormat("%.1f", r["wire_bytes_per_step"].get<double>() / 1024)
            : std::string("-"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int rank = absl::GetFlag(FLAGS_rank);
  if (rank < 0) return Coordinate();
  if (absl::Status status = RunRank(rank, absl::GetFlag(FLAGS_world_size)); !status.ok()) {
    std::cerr << "kiln_bench_scaleout rank " << rank << ": " << status << "\n";
    return 1;
  }
  return 0;
}
