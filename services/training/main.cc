// kiln-training: the training service. Owns schema `training` (jobs, events,
// leases, checkpoints) and hands jobs to workers.
#include "services/common/database.h"
#include "services/common/log.h"
#include "services/common/server.h"
#include "services/training/lease_reaper.h"
#include "services/training/training_migrations.h"
#include "services/training/training_service.h"

int main(int argc, char** argv) {
  kiln::BlockTerminationSignals();
  kiln::ServiceConfig service;
  kiln::DatabaseConfig database;
  kiln::training::LeaseSettings settings;
  settings.preprocess_address = "127.0.0.1:7002";
  settings.evaluation_address = "127.0.0.1:7004";
  settings.registry_address = "127.0.0.1:7005";
  int max_attempts = 3;
  double lease_ttl_seconds = 20;
  double heartbeat_seconds = 1;
  CLI::App app{"kiln-training: queues training jobs and leases them to workers"};
  kiln::AddServiceOptions(app, service, "0.0.0.0:7003");
  kiln::AddDatabaseOptions(app, database);
  kiln::AddOption(app, "max-attempts", max_attempts, "KILN_MAX_ATTEMPTS",
                  "leases a job gets before it fails, unless its spec says otherwise")
      ->check(CLI::Range(1, 100));
  kiln::AddOption(app, "lease-ttl", lease_ttl_seconds, "KILN_LEASE_TTL",
                  "seconds without a heartbeat after which a lease is lost")
      ->check(CLI::Range(1.0, 3600.0));
  kiln::AddOption(app, "heartbeat-interval", heartbeat_seconds, "KILN_HEARTBEAT_INTERVAL",
                  "seconds between worker heartbeats")
      ->check(CLI::Range(0.1, 600.0));
  kiln::AddOption(app, "keep-checkpoints", settings.keep_checkpoints, "KILN_KEEP_CHECKPOINTS",
                  "checkpoints kept per job")
      ->check(CLI::Range(1, 1000));
  kiln::AddOption(app, "preprocess-address", settings.preprocess_address,
                  "KILN_PREPROCESS_ADDRESS", "preprocess service host:port, as workers reach it");
  kiln::AddOption(app, "evaluation-address", settings.evaluation_address,
                  "KILN_EVALUATION_ADDRESS", "evaluation service host:port, as workers reach it");
  kiln::AddOption(app, "registry-address", settings.registry_address, "KILN_REGISTRY_ADDRESS",
                  "registry service host:port, as workers reach it");
  CLI11_PARSE(app, argc, argv);
  settings.lease_ttl = absl::Seconds(lease_ttl_seconds);
  settings.heartbeat_interval = absl::Seconds(heartbeat_seconds);

  kiln::log::SetProgramName("kiln-training");
  (void)kiln::log::SetLevel(service.log_level);
  auto policy = kiln::MakePolicy(service);
  if (!policy.ok()) {
    kiln::log::Error(policy.status().message());
    return 2;
  }
  auto pool = kiln::OpenDatabase(database, "training", kiln::training::Migrations());
  if (!pool.ok()) {
    kiln::log::Error(pool.status().message());
    return 1;
  }
  kiln::training::JobStore jobs(**pool);
  kiln::training::LeaseStore leases(**pool, settings);
  kiln::training::LeaseReaper reaper(leases, absl::Seconds(1));
  kiln::training::TrainingServiceImpl training_service(jobs, leases, max_attempts);
  return kiln::ServeUntilSignal({"kiln-training", service.listen, *policy, {&training_service}},
                                service);
}
