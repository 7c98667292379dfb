// kiln-training: the training service. Owns schema `training` (jobs, events,
// leases, checkpoints, sweeps) and hands jobs to workers.
#include "services/common/service_main.h"
#include "services/training/job_event_notifier.h"
#include "services/training/lease_reaper.h"
#include "services/training/sweep_service.h"
#include "services/training/training_migrations.h"
#include "services/training/training_service.h"

int main(int argc, char** argv) {
  kiln::ServiceMain main("kiln-training", "queues training jobs and leases them to workers",
                         "0.0.0.0:7003");
  main.UseDatabase("training", kiln::training::Migrations());
  kiln::training::LeaseSettings settings;
  settings.preprocess_address = "127.0.0.1:7002";
  settings.evaluation_address = "127.0.0.1:7004";
  settings.registry_address = "127.0.0.1:7005";
  kiln::training::TrainingServiceOptions options;
  double max_job_gib = 8;
  double lease_ttl_seconds = 20;
  double heartbeat_seconds = 1;
  CLI::App& app = main.app();
  kiln::AddOption(app, "max-job-memory", max_job_gib, "KILN_MAX_JOB_MEMORY",
                  "GiB a job may need to train; larger specs are refused at submission")
      ->check(CLI::Range(0.01, 65536.0));
  kiln::AddOption(app, "max-watchers", options.max_watchers, "KILN_MAX_WATCHERS",
                  "WatchJob streams open at once; more are refused with RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1, 100000));
  kiln::AddOption(app, "max-attempts", options.default_max_attempts, "KILN_MAX_ATTEMPTS",
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
  if (auto exit = main.Start(argc, argv)) return *exit;
  settings.lease_ttl = absl::Seconds(lease_ttl_seconds);
  options.max_job_bytes = static_cast<int64_t>(max_job_gib * double(int64_t{1} << 30));
  settings.heartbeat_interval = absl::Seconds(heartbeat_seconds);

  kiln::training::JobStore jobs(main.pool());
  kiln::training::LeaseStore leases(main.pool(), settings);
  kiln::training::LeaseReaper reaper(leases, absl::Seconds(1));
  // Its own connection, on the database the pool uses.
  kiln::training::JobEventNotifier notifier(
      app.get_option("--database-url")->as<std::string>());
  kiln::training::TrainingServiceImpl training_service(jobs, leases, notifier, options);
  kiln::training::SweepStore sweeps(main.pool());
  kiln::training::SweepServiceImpl sweep_service(sweeps, options);
  return main.Serve({&training_service, &sweep_service});
}
