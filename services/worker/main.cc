// kiln-worker: trains the jobs the training service leases to it. Stateless;
// scale it out (`docker compose up --scale worker=3`). Serves the standard
// gRPC health service for healthchecks.
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/log.h"
#include "services/common/server.h"
#include "services/worker/job_runner.h"

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "worker";
  return name;
}

int64_t PhysicalMemoryBytes() {
  return int64_t{sysconf(_SC_PHYS_PAGES)} * sysconf(_SC_PAGE_SIZE);
}

// One slot: lease, run, repeat, until shutdown.
void ServeSlot(kiln::v1::TrainingService::Stub& training, const kiln::worker::WorkerSettings& settings,
               const std::string& worker_id, const std::atomic<bool>& shutting_down) {
  while (!shutting_down) {
    grpc::ClientContext context;
    kiln::PrepareContext(context, settings.token, absl::Seconds(40));
    kiln::v1::LeaseJobRequest request;
    request.set_worker_id(worker_id);
    request.set_wait_ms(5000);
    kiln::v1::LeaseJobResponse response;
    const grpc::Status status = training.LeaseJob(&context, request, &response);
    if (!status.ok()) {
      kiln::log::Warning("asking for work failed: ", status.error_message());
      absl::SleepFor(absl::Seconds(2));
      continue;
    }
    if (response.has_lease()) kiln::worker::RunLease(training, settings, response.lease());
  }
}

}  // namespace

int main(int argc, char** argv) {
  kiln::BlockTerminationSignals();
  kiln::ServiceConfig service;
  kiln::ClientConfig client;
  std::string training_address = "127.0.0.1:7003";
  std::string name = absl::StrCat(HostName(), "-", getpid());
  int slots = 1;
  double collective_timeout_seconds = 30;
  kiln::worker::WorkerSettings settings;
  // In compose the container's host name is what the other workers resolve.
  settings.host = HostName();
  CLI::App app{"kiln-worker: trains the jobs leased to it by the training service"};
  kiln::AddServiceOptions(app, service, "0.0.0.0:7006");
  kiln::AddClientOptions(app, client);
  kiln::AddOption(app, "training-address", training_address, "KILN_TRAINING_ADDRESS",
                  "training service host:port");
  kiln::AddOption(app, "name", name, "KILN_WORKER_NAME", "unique worker name");
  kiln::AddOption(app, "slots", slots, "KILN_WORKER_SLOTS", "ranks this worker runs at once")
      ->check(CLI::Range(1, 64));
  kiln::AddOption(app, "host", settings.host, "KILN_WORKER_HOST",
                  "address at which the other ranks of a job reach this worker (default: the host name)");
  kiln::AddOption(app, "preprocess-address", settings.preprocess_address,
                  "KILN_PREPROCESS_ADDRESS",
                  "preprocess service host:port, if not the one the training service names");
  kiln::AddOption(app, "evaluation-address", settings.evaluation_address,
                  "KILN_EVALUATION_ADDRESS",
                  "evaluation service host:port, if not the one the training service names");
  kiln::AddOption(app, "registry-address", settings.registry_address, "KILN_REGISTRY_ADDRESS",
                  "registry service host:port, if not the one the training service names");
  double memory_gib = 0;
  kiln::AddOption(app, "memory", memory_gib, "KILN_WORKER_MEMORY",
                  "GiB one rank may use (default: 80% of this machine's memory over the slots)")
      ->check(CLI::Range(0.0, 65536.0));
  kiln::AddOption(app, "threads", settings.threads, "KILN_WORKER_THREADS",
                  "intra-op threads per rank (0 = one per core)")
      ->check(CLI::Range(0, 256));
  double checkpoint_interval_seconds = absl::ToDoubleSeconds(settings.checkpoint_interval);
  kiln::AddOption(app, "checkpoint-interval", checkpoint_interval_seconds,
                  "KILN_CHECKPOINT_INTERVAL",
                  "seconds between a job's stored checkpoints (at most one per epoch)")
      ->check(CLI::Range(0.0, 86400.0));
  kiln::AddOption(app, "collective-timeout", collective_timeout_seconds,
                  "KILN_COLLECTIVE_TIMEOUT",
                  "seconds a rank waits for its peers before giving the job up")
      ->check(CLI::Range(1.0, 3600.0));
  CLI11_PARSE(app, argc, argv);

  kiln::log::SetProgramName("kiln-worker");
  (void)kiln::log::SetLevel(service.log_level);
  (void)kiln::log::SetFormat(service.log_format);
  settings.token = client.token;
  settings.memory_budget_bytes =
      memory_gib > 0 ? static_cast<int64_t>(memory_gib * double(int64_t{1} << 30))
                     : static_cast<int64_t>(0.8 * PhysicalMemoryBytes() / slots);
  settings.collective_timeout = absl::Seconds(collective_timeout_seconds);
  settings.checkpoint_interval = absl::Seconds(checkpoint_interval_seconds);
  auto policy = kiln::MakePolicy(service);
  if (!policy.ok()) {
    kiln::log::Error(policy.status().message());
    return 2;
  }
  // Only the health service: the worker has no RPCs of its own.
  auto health = kiln::GrpcServer::Start({"kiln-worker", service.listen, *policy, {}});
  if (!health.ok()) {
    kiln::log::Error(health.status().message());
    return 1;
  }

  auto training = kiln::v1::TrainingService::NewStub(kiln::MakeChannel(training_address));
  std::string worker_id;
  for (;;) {
    grpc::ClientContext context;
    kiln::PrepareContext(context, client.token, absl::Seconds(10));
    kiln::v1::RegisterWorkerRequest request;
    request.set_name(name);
    request.set_slots(slots);
    request.set_host(settings.host);
    request.set_description("kiln-worker");
    kiln::v1::RegisterWorkerResponse response;
    const grpc::Status status = training->RegisterWorker(&context, request, &response);
    if (status.ok()) {
      worker_id = response.worker_id();
      settings.heartbeat_interval = absl::Milliseconds(response.heartbeat_interval_ms());
      settings.lease_ttl = absl::Milliseconds(response.lease_ttl_ms());
      break;
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      kiln::log::Error("registering with the training service failed: ", status.error_message());
      return 1;
    }
    kiln::log::Info("waiting for the training service at ", training_address);
    absl::SleepFor(absl::Seconds(1));
  }
  kiln::log::Info("registered as ", name, " with ", slots, " slot(s)");

  std::atomic<bool> shutting_down{false};
  settings.shutting_down = &shutting_down;
  std::vector<std::thread> slot_threads;
  for (int i = 0; i < slots; ++i) {
    slot_threads.emplace_back(
        [&] { ServeSlot(*training, settings, worker_id, shutting_down); });
  }
  const int signal = kiln::WaitForTerminationSignal();
  kiln::log::Info("received ", strsignal(signal), ": handing running jobs back");
  shutting_down = true;
  for (std::thread& thread : slot_threads) thread.join();
  (*health)->Shutdown(absl::Seconds(1));
  return 0;
}
