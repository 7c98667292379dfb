// The training service's job management and worker protocol over real gRPC
// on loopback with a real PostgreSQL. Workers are played by the test.
#include <grpcpp/grpcpp.h>

#include <future>
#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/db/migrations.h"
#include "services/common/sha256.h"
#include "services/training/lease_reaper.h"
#include "tests/training/training_service_fixture.h"
#include "services/training/training_migrations.h"

namespace kiln::training {
namespace {

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

class TrainingServiceTest : public TrainingServiceFixture {
 protected:
  void SetUp() override {
    LeaseSettings settings;
    settings.lease_ttl = absl::Seconds(2);
    settings.preprocess_address = "preprocess:7002";
    SetUpService(settings, TrainingServiceOptions{});
  }

  kiln::v1::Job Submit(kiln::v1::JobSpec spec) {
    kiln::v1::SubmitJobRequest request;
    *request.mutable_spec() = std::move(spec);
    kiln::v1::Job job;
    grpc::Status status = training_stub_->SubmitJob(Context().get(), request, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }

  std::string Register(const std::string& name) {
    kiln::v1::RegisterWorkerRequest request;
    request.set_name(name);
    request.set_slots(1);
    request.set_host("127.0.0.1");
    kiln::v1::RegisterWorkerResponse response;
    EXPECT_TRUE(training_stub_->RegisterWorker(Context().get(), request, &response).ok());
    return response.worker_id();
  }

  std::optional<kiln::v1::Lease> Lease(const std::string& worker_id, int wait_ms) {
    kiln::v1::LeaseJobRequest request;
    request.set_worker_id(worker_id);
    request.set_wait_ms(wait_ms);
    kiln::v1::LeaseJobResponse response;
    grpc::Status status = training_stub_->LeaseJob(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!response.has_lease()) return std::nullopt;
    return response.lease();
  }

  kiln::v1::Job Get(const std::string& id) {
    kiln::v1::GetJobRequest request;
    request.set_id(id);
    kiln::v1::Job job;
    EXPECT_TRUE(training_stub_->GetJob(Context(kReaderToken).get(), request, &job).ok());
    return job;
  }

  kiln::v1::LeaseStatus Heartbeat(const std::string& lease_id) {
    kiln::v1::HeartbeatRequest request;
    request.set_lease_id(lease_id);
    kiln::v1::HeartbeatResponse response;
    EXPECT_TRUE(training_stub_->Heartbeat(Context().get(), request, &response).ok());
    return response.status();
  }

  void ReportEpoch(const std::string& lease_id, int epoch, double loss) {
    kiln::v1::ReportEventsRequest request;
    request.set_lease_id(lease_id);
    auto* metrics = request.add_events()->mutable_epoch_finished();
    metrics->set_epoch(epoch);
    metrics->set_loss(loss);
    metrics->set_accuracy(0.5);
    kiln::v1::ReportEventsResponse response;
    ASSERT_TRUE(training_stub_->ReportEvents(Context().get(), request, &response).ok());
  }

  grpc::Status SaveCheckpoint(const std::string& lease_id, int epoch, const std::string& data,
                              const std::string& sha256) {
    kiln::v1::Checkpoint checkpoint;
    auto context = Context();
    auto writer = training_stub_->SaveCheckpoint(context.get(), &checkpoint);
    kiln::v1::SaveCheckpointRequest message;
    message.mutable_header()->set_lease_id(lease_id);
    message.mutable_header()->set_epoch(epoch);
    message.mutable_header()->set_sha256(sha256);
    message.mutable_header()->set_size_bytes(static_cast<int64_t>(data.size()));
    writer->Write(message);
    for (size_t offset = 0; offset < data.size(); offset += 1000) {
      message.set_data(data.substr(offset, 1000));
      writer->Write(message);
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::vector<kiln::v1::JobEvent> Watch(const std::string& id) {
    kiln::v1::WatchJobRequest request;
    request.set_id(id);
    auto context = Context(kReaderToken);
    auto reader = training_stub_->WatchJob(context.get(), request);
    std::vector<kiln::v1::JobEvent> events;
    kiln::v1::JobEvent event;
    while (reader->Read(&event)) events.push_back(event);
    EXPECT_TRUE(reader->Finish().ok());
    return events;
  }

  // Options under which a watcher never reads again by itself within a
  // test's deadlines: whatever it reports, it was told of.
  static TrainingServiceOptions OnlyNotifiedWatchers() {
    TrainingServiceOptions options;
    options.watch_recheck = absl::Hours(1);
    options.watch_recheck_unnotified = absl::Hours(1);
    return options;
  }

  // The notifier's backend, once it is listening; 0 until then.
  int ListeningNotifierPid(pqxx::connection& observer) {
    if (!notifier_->listening()) return 0;
    const pqxx::result rows = pqxx::nontransaction(observer).exec_params(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
        database_name(), kNotifierApplicationName);
    return rows.size() == 1 ? rows[0][0].as<int>() : 0;
  }

  // Transactions PostgreSQL committed in the test's database so far.
  // Backends report their counts lazily (at most once a second, and up to
  // 10 s after going idle) but always before they exit, so the pool's
  // connections are closed first and their backends waited for.
  int64_t CommittedTransactions() {
    pqxx::connection observer(cluster().UriFor("postgres"));
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    for (;;) {
      {
        absl::StatusOr<db::Lease> lease = pool_->Acquire();
        if (lease.ok()) lease->Discard();  // returning it closes the idle ones too
      }
      const int backends =
          pqxx::nontransaction(observer)
              .exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                            "AND application_name <> $2",
                            database_name(), kNotifierApplicationName)[0]
              .as<int>();
      if (backends == 0) break;
      EXPECT_LT(absl::Now(), deadline) << backends << " backends did not go away";
      if (absl::Now() >= deadline) return -1;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return pqxx::nontransaction(observer)
        .exec_params1("SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                      database_name())[0]
        .as<int64_t>();
  }
};

TEST_F(TrainingServiceTest, SubmitFillsTheTfidfDefaults) {
  const kiln::v1::JobSpec spec = Submit({}).spec();
  EXPECT_EQ(spec.architecture(), kiln::v1::ARCHITECTURE_TFIDF);
  EXPECT_EQ(spec.pooling(), kiln::v1::POOLING_UNSPECIFIED);
  EXPECT_EQ(spec.hidden_units(), 48);
  EXPECT_EQ(spec.embedding_dim(), 48);  // its first kernel is the table
  EXPECT_EQ(spec.epochs(), 30);
  EXPECT_EQ(spec.batch_size(), 64);
  EXPECT_DOUBLE_EQ(spec.learning_rate(), 5e-3);
  EXPECT_DOUBLE_EQ(spec.dropout(), 0.5);
  EXPECT_EQ(spec.max_length(), 256);
}

TEST_F(TrainingServiceTest, SubmitFillsTheArticleDefaults) {
  kiln::v1::JobSpec article;
  article.set_architecture(kiln::v1::ARCHITECTURE_ARTICLE);
  kiln::v1::Job job = Submit(article);
  EXPECT_EQ(job.id(), "job-000001");
  EXPECT_EQ(job.state(), kiln::v1::JOB_STATE_QUEUED);
  const auto& spec = job.spec();
  EXPECT_EQ(spec.model(), "news");
  EXPECT_EQ(spec.topics_size(), 8);
  EXPECT_EQ(spec.train_years(0).first(), 1922);
  EXPECT_EQ(spec.test_years(0).last(), 2000);
  EXPECT_EQ(spec.vocabulary().min_count(), 2);
  EXPECT_EQ(spec.max_length(), 256);
  EXPECT_EQ(spec.embedding_dim(), 64);
  EXPECT_EQ(spec.hidden_units(), 128);
  EXPECT_EQ(spec.epochs(), 15);
  EXPECT_EQ(spec.batch_size(), 64);
  EXPECT_DOUBLE_EQ(spec.learning_rate(), 5e-3);
  EXPECT_EQ(spec.world_size(), 1);
  EXPECT_EQ(spec.max_attempts(), 3);
  EXPECT_EQ(spec.pooling(), kiln::v1::POOLING_GLOBAL_AVERAGE);
  EXPECT_TRUE(spec.has_dropout());
  EXPECT_DOUBLE_EQ(spec.dropout(), 0);
  EXPECT_DOUBLE_EQ(spec.validation_fraction(), 0.1);
  EXPECT_EQ(spec.early_stopping_patience(), 3);
}

// K10: 0 turns validation and early stopping off, so an explicit 0 must not
// be taken for "unset" and replaced by the default.
TEST_F(TrainingServiceTest, ZeroValidationAndPatienceAreKeptNotDefaulted) {
  kiln::v1::JobSpec spec;
  spec.set_validation_fraction(0);
  spec.set_early_stopping_patience(0);
  const kiln::v1::Job job = Submit(spec);
  EXPECT_TRUE(job.spec().has_validation_fraction());
  EXPECT_EQ(job.spec().validation_fraction(), 0);
  EXPECT_EQ(job.spec().early_stopping_patience(), 0);
  const kiln::v1::Job stored = Get(job.id());
  EXPECT_TRUE(stored.spec().has_validation_fraction());
  EXPECT_EQ(stored.spec().validation_fraction(), 0);
  EXPECT_TRUE(stored.spec().has_early_stopping_patience());
  EXPECT_EQ(stored.spec().early_stopping_patience(), 0);
}

TEST_F(TrainingServiceTest, BadSpecsAreRefusedNamingTheFieldAndRange) {
  const std::vector<std::pair<std::function<void(kiln::v1::JobSpec&)>, std::string>> cases = {
      {[](auto& s) { s.set_epochs(5000); }, "spec.epochs is 5000; allowed: 1..1000"},
      {[](auto& s) { s.set_learning_rate(-1); }, "spec.learning_rate"},
      {[](auto& s) { s.set_world_size(65); }, "spec.world_size is 65; allowed: 1..64"},
      {[](auto& s) { s.set_model("News!"); }, "spec.model"},
      {[](auto& s) { s.add_topics("only-one"); }, "spec.topics has 1 entries"},
      {[](auto& s) {
         auto* r = s.add_test_years();
         r->set_first(1950);
         r->set_last(1960);
       },
       "overlaps spec.train_years"},
      {[](auto& s) { s.set_batch_size(2); s.set_world_size(4); }, "smaller than spec.world_size"},
      {[](auto& s) { s.set_validation_fraction(0.6); },
       "spec.validation_fraction is 0.6; allowed: 0..0.5"},
      {[](auto& s) { s.set_validation_fraction(-0.1); }, "spec.validation_fraction is -0.1"},
      {[](auto& s) { s.set_early_stopping_patience(1001); },
       "spec.early_stopping_patience is 1001; allowed: 0..1000"},
      {[](auto& s) { s.set_early_stopping_patience(-1); }, "spec.early_stopping_patience is -1"},
      // K8: specs that need tens of GiB were accepted, and their worker was
      // OOM-killed attempt after attempt.
      {[](auto& s) { s.set_dropout(0.95); }, "spec.dropout is 0.95; allowed: 0..0.9"},
      {[](auto& s) { s.set_architecture(kiln::v1::Architecture(7)); }, "spec.architecture"},
      {[](auto& s) { s.set_pooling(kiln::v1::POOLING_FLATTEN); },
       "spec.pooling belongs to the ARTICLE architecture"},
      {[](auto& s) {
         s.set_embedding_dim(64);
         s.set_hidden_units(32);
       },
       "spec.embedding_dim (64) must equal spec.hidden_units (32) with architecture TFIDF"},
      {[](auto& s) {
         s.set_architecture(kiln::v1::ARCHITECTURE_ARTICLE);
         s.set_pooling(kiln::v1::POOLING_FLATTEN);
         s.set_max_length(4096);
         s.set_embedding_dim(256);
         s.set_hidden_units(2048);
       },
       "needs about 32.5 GiB to train, over the training service's limit (KILN_MAX_JOB_MEMORY) of 8.0 GiB"},
      {[](auto& s) {
         s.set_architecture(kiln::v1::ARCHITECTURE_ARTICLE);
         s.mutable_vocabulary()->set_max_size(10000000);
         s.set_embedding_dim(1024);
       },
       "the model has 10242115592 parameters"},
  };
  for (const auto& [mutate, expected] : cases) {
    kiln::v1::SubmitJobRequest request;
    mutate(*request.mutable_spec());
    kiln::v1::Job job;
    grpc::Status status = training_stub_->SubmitJob(Context().get(), request, &job);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << expected;
    EXPECT_NE(status.error_message().find(expected), std::string::npos)
        << status.error_message() << " should mention " << expected;
  }
  kiln::v1::ListJobsResponse list;
  ASSERT_TRUE(training_stub_->ListJobs(Context().get(), {}, &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
}

// K8: every watch of a queued job held a server thread and polled the
// database for ever; with public reads, anyone could open enough of them to
// starve the service. Past the limit they are refused, and the service
// still answers everything else.
TEST_F(TrainingServiceTest, WatchesPastTheLimitAreRefusedAndTheRestStillWorks) {
  const kiln::v1::Job job = Submit({});
  const int limit = TrainingServiceOptions{}.max_watchers;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<kiln::v1::JobEvent>>> watches;
  kiln::v1::WatchJobRequest request;
  request.set_id(job.id());
  for (int i = 0; i < limit; ++i) {
    contexts.push_back(Context(kReaderToken));
    watches.push_back(training_stub_->WatchJob(contexts.back().get(), request));
    kiln::v1::JobEvent event;
    ASSERT_TRUE(watches.back()->Read(&event)) << "watch " << i;  // the job's "queued"
  }
  auto refused_context = Context(kReaderToken);
  auto refused = training_stub_->WatchJob(refused_context.get(), request);
  kiln::v1::JobEvent event;
  EXPECT_FALSE(refused->Read(&event));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  kiln::v1::GetJobRequest get;
  get.set_id(job.id());
  kiln::v1::Job shown;
  EXPECT_TRUE(training_stub_->GetJob(Context().get(), get, &shown).ok());
  EXPECT_EQ(Submit({}).state(), kiln::v1::JOB_STATE_QUEUED);

  // A closed watch frees its place once the server sees it gone.
  contexts.front()->TryCancel();
  watches.front()->Finish();
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    auto again_context = Context(kReaderToken);
    auto again = training_stub_->WatchJob(again_context.get(), request);
    admitted = again->Read(&event);
    again_context->TryCancel();
    again->Finish();
    if (!admitted) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(admitted);
  for (size_t i = 1; i < watches.size(); ++i) {
    contexts[i]->TryCancel();
    watches[i]->Finish();
  }
}

// K8: every watcher read the job and its events five times a second, so a
// few dozen watchers of jobs that sat queued for hours kept the database
// pool busy that heartbeats need. Watchers now wait for a notification.
TEST_F(TrainingServiceTest, WatchersOfAQuietJobCostTheDatabaseAlmostNothing) {
  const kiln::v1::Job job = Submit({});
  kiln::v1::WatchJobRequest request;
  request.set_id(job.id());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<kiln::v1::JobEvent>>> watches;
  const int64_t before = CommittedTransactions();
  for (int i = 0; i < 16; ++i) {
    contexts.push_back(Context(kReaderToken));
    watches.push_back(training_stub_->WatchJob(contexts.back().get(), request));
    kiln::v1::JobEvent event;
    ASSERT_TRUE(watches.back()->Read(&event)) << "watch " << i;  // the job's "queued"
  }
  absl::SleepFor(absl::Seconds(3));
  for (size_t i = 0; i < watches.size(); ++i) {
    contexts[i]->TryCancel();
    watches[i]->Finish();
  }
  const int64_t committed = CommittedTransactions() - before;
  // Polling cost about 16 watchers x 2 reads x 5/s x 3 s = 480.
  EXPECT_LT(committed, 100);
  EXPECT_GE(committed, 16);  // each watcher's first look, so the count is live
}

TEST_F(TrainingServiceTest, AWatcherIsToldOfEveryEventInOrderAsItHappens) {
  StartService(OnlyNotifiedWatchers());
  const kiln::v1::Job job = Submit({});
  kiln::v1::WatchJobRequest request;
  request.set_id(job.id());
  auto context = Context(kReaderToken);  // its deadline bounds every wait below
  auto watch = training_stub_->WatchJob(context.get(), request);
  kiln::v1::JobEvent event;
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.sequence(), 1);
  EXPECT_EQ(event.state_changed().to(), kiln::v1::JOB_STATE_QUEUED);

  // Each step waits for its event before the next, so each was notified.
  std::optional<kiln::v1::Lease> lease = Lease(Register("worker-a"), 2000);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.sequence(), 2);
  EXPECT_EQ(event.state_changed().to(), kiln::v1::JOB_STATE_RUNNING);
  for (int epoch = 1; epoch <= 3; ++epoch) {
    ReportEpoch(lease->lease_id(), epoch, 1.0 / epoch);
    ASSERT_TRUE(watch->Read(&event)) << "epoch " << epoch;
    EXPECT_EQ(event.sequence(), 2 + epoch);
    EXPECT_EQ(event.epoch_finished().epoch(), epoch);
  }
  kiln::v1::CompleteLeaseRequest complete;
  complete.set_lease_id(lease->lease_id());
  complete.mutable_result()->set_model("news");
  complete.mutable_result()->set_version(1);
  kiln::v1::Job done;
  ASSERT_TRUE(training_stub_->CompleteLease(Context().get(), complete, &done).ok());
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.sequence(), 6);
  EXPECT_EQ(event.state_changed().to(), kiln::v1::JOB_STATE_SUCCEEDED);
  EXPECT_FALSE(watch->Read(&event));  // the job has ended, so has the watch
  const grpc::Status status = watch->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TrainingServiceTest, ANotifierWhoseConnectionIsKilledReconnectsAndWatchersHearOn) {
  StartService(OnlyNotifiedWatchers());
  const kiln::v1::Job job = Submit({});
  kiln::v1::WatchJobRequest request;
  request.set_id(job.id());
  auto context = Context(kReaderToken);
  auto watch = training_stub_->WatchJob(context.get(), request);
  kiln::v1::JobEvent event;
  ASSERT_TRUE(watch->Read(&event));  // "queued"

  pqxx::connection observer(cluster().UriFor("postgres"));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  int listener = 0;
  while ((listener = ListeningNotifierPid(observer)) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_NE(listener, 0) << "the notifier never listened";
  ASSERT_TRUE(pqxx::nontransaction(observer)
                  .exec_params1("SELECT pg_terminate_backend($1)", listener)[0]
                  .as<bool>());
  int again = 0;
  while (((again = ListeningNotifierPid(observer)) == 0 || again == listener) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_NE(again, 0) << "the notifier did not listen again";
  ASSERT_NE(again, listener);

  std::optional<kiln::v1::Lease> lease = Lease(Register("worker-a"), 2000);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.state_changed().to(), kiln::v1::JOB_STATE_RUNNING);
  // Told after the reconnection's own wake-up had been used up.
  ReportEpoch(lease->lease_id(), 1, 0.5);
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.epoch_finished().epoch(), 1);
  context->TryCancel();
  watch->Finish();
}

// K10: the job shows the epoch whose weights it will ship, which its
// worker marks (the lowest validation loss so far), not the last one.
TEST_F(TrainingServiceTest, TheJobShowsTheEpochItsWorkerMarkedBest) {
  const kiln::v1::Job job = Submit({});
  std::optional<kiln::v1::Lease> lease = Lease(Register("worker-a"), 2000);
  ASSERT_TRUE(lease);
  EXPECT_FALSE(Get(job.id()).has_best_epoch());
  auto report = [&](const std::string& lease_id, int epoch, double validation_loss, bool best) {
    kiln::v1::ReportEventsRequest request;
    request.set_lease_id(lease_id);
    auto* metrics = request.add_events()->mutable_epoch_finished();
    metrics->set_epoch(epoch);
    metrics->set_validation_examples(470);
    metrics->set_validation_loss(validation_loss);
    metrics->set_validation_recall_at_1(0.9);
    metrics->set_best(best);
    kiln::v1::ReportEventsResponse response;
    ASSERT_TRUE(training_stub_->ReportEvents(Context().get(), request, &response).ok());
  };
  report(lease->lease_id(), 1, 0.5, true);
  report(lease->lease_id(), 2, 0.4, true);
  report(lease->lease_id(), 3, 0.45, false);
  kiln::v1::Job shown = Get(job.id());
  EXPECT_EQ(shown.epochs_done(), 3);
  EXPECT_EQ(shown.last_epoch().epoch(), 3);
  EXPECT_EQ(shown.best_epoch().epoch(), 2);
  EXPECT_EQ(shown.best_epoch().validation_loss(), 0.4);
  EXPECT_EQ(shown.best_epoch().validation_examples(), 470);
  kiln::v1::ListJobsResponse list;
  ASSERT_TRUE(training_stub_->ListJobs(Context().get(), {}, &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).best_epoch().epoch(), 2);

  // A lapsed attempt's late report changes nothing.
  absl::SleepFor(absl::Milliseconds(2500));
  ASSERT_TRUE(leases_->ReapExpiredLeases().ok());
  std::optional<kiln::v1::Lease> again = Lease(Register("worker-b"), 2000);
  ASSERT_TRUE(again);
  report(lease->lease_id(), 4, 0.1, true);
  EXPECT_EQ(Get(job.id()).best_epoch().epoch(), 2);
  report(again->lease_id(), 4, 0.3, true);
  EXPECT_EQ(Get(job.id()).best_epoch().epoch(), 4);
}

TEST_F(TrainingServiceTest, AGangOfTwoIsLeasedOnlyWhenTwoSlotsWait) {
  kiln::v1::JobSpec spec;
  spec.set_world_size(2);
  const kiln::v1::Job job = Submit(spec);
  const std::string a = Register("worker-a");
  const std::string b = Register("worker-b");

  EXPECT_FALSE(Lease(a, 300).has_value());  // alone, the gang is incomplete
  EXPECT_EQ(Get(job.id()).state(), kiln::v1::JOB_STATE_QUEUED);

  auto first = std::async(std::launch::async, [&] { return Lease(a, 5000); });
  auto second = std::async(std::launch::async, [&] { return Lease(b, 5000); });
  std::optional<kiln::v1::Lease> la = first.get(), lb = second.get();
  ASSERT_TRUE(la && lb);
  EXPECT_EQ(la->job().id(), job.id());
  EXPECT_EQ(la->world_size(), 2);
  EXPECT_EQ(la->attempt(), 1);
  EXPECT_EQ(lb->attempt(), 1);
  EXPECT_EQ(la->rank() + lb->rank(), 1);
  EXPECT_EQ(la->preprocess_address(), "preprocess:7002");
  const kiln::v1::Job running = Get(job.id());
  EXPECT_EQ(running.state(), kiln::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(running.workers_size(), 2);

  // Rendezvous: the other rank waits until rank 0 publishes.
  const kiln::v1::Lease& rank0 = la->rank() == 0 ? *la : *lb;
  const kiln::v1::Lease& rank1 = la->rank() == 0 ? *lb : *la;
  auto waiting = std::async(std::launch::async, [&] {
    kiln::v1::RendezvousRequest request;
    request.set_lease_id(rank1.lease_id());
    request.set_wait_ms(5000);
    kiln::v1::RendezvousResponse response;
    EXPECT_TRUE(training_stub_->Rendezvous(Context().get(), request, &response).ok());
    return response.address();
  });
  absl::SleepFor(absl::Milliseconds(300));
  kiln::v1::RendezvousRequest publish;
  publish.set_lease_id(rank0.lease_id());
  publish.set_address("127.0.0.1:29500");
  kiln::v1::RendezvousResponse published;
  ASSERT_TRUE(training_stub_->Rendezvous(Context().get(), publish, &published).ok());
  EXPECT_EQ(waiting.get(), "127.0.0.1:29500");
}

TEST_F(TrainingServiceTest, ALapsedLeaseRequeuesTheJobWhichResumesFromItsCheckpoint) {
  const kiln::v1::Job job = Submit({});
  const std::string worker = Register("worker-a");
  std::optional<kiln::v1::Lease> lease = Lease(worker, 2000);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->resume_epoch(), 0);
  ReportEpoch(lease->lease_id(), 1, 0.9);
  const std::string data(2500, 'c');
  EXPECT_EQ(SaveCheckpoint(lease->lease_id(), 1, data, std::string(64, '0')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // wrong digest
  ASSERT_TRUE(SaveCheckpoint(lease->lease_id(), 1, data, Sha256Hex(data)).ok());
  EXPECT_EQ(Get(job.id()).epochs_done(), 1);

  // The worker dies: no more heartbeats. After the TTL the reaper re-queues.
  absl::SleepFor(absl::Milliseconds(2500));
  ASSERT_TRUE(leases_->ReapExpiredLeases().ok());
  EXPECT_EQ(Get(job.id()).state(), kiln::v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Heartbeat(lease->lease_id()), kiln::v1::LEASE_STATUS_LOST);

  std::optional<kiln::v1::Lease> again = Lease(Register("worker-b"), 2000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt(), 2);
  EXPECT_EQ(again->resume_epoch(), 1);
  // The first worker, back from a partition, reports an epoch it trained
  // late: attempt 2's history does not get it (the expected kinds below).
  ReportEpoch(lease->lease_id(), 2, 0.8);
  kiln::v1::LoadCheckpointRequest load;
  load.set_job_id(job.id());
  auto context = Context();
  auto reader = training_stub_->LoadCheckpoint(context.get(), load);
  kiln::v1::LoadCheckpointResponse part;
  std::string loaded;
  ASSERT_TRUE(reader->Read(&part) && part.has_checkpoint());
  EXPECT_EQ(part.checkpoint().epoch(), 1);
  while (reader->Read(&part)) loaded += part.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(loaded, data);

  kiln::v1::CompleteLeaseRequest complete;
  complete.set_lease_id(again->lease_id());
  complete.mutable_result()->set_model("news");
  complete.mutable_result()->set_version(1);
  kiln::v1::Job done;
  ASSERT_TRUE(training_stub_->CompleteLease(Context().get(), complete, &done).ok());
  EXPECT_EQ(done.state(), kiln::v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.result().version(), 1);

  // A watcher arriving after the end sees the whole history, then the end.
  std::vector<kiln::v1::JobEvent> events = Watch(job.id());
  std::vector<std::string> kinds;
  for (const auto& event : events) {
    if (event.has_state_changed()) {
      kinds.push_back(kiln::v1::JobState_Name(event.state_changed().to()));
    } else if (event.has_epoch_finished()) {
      kinds.push_back("epoch");
    } else if (event.has_checkpoint_saved()) {
      kinds.push_back("checkpoint");
    }
  }
  const std::vector<std::string> expected = {
      "JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "epoch",           "checkpoint",
      "JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"};
  EXPECT_EQ(kinds, expected);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), int64_t(i + 1));
  EXPECT_NE(events[4].state_changed().reason().find("expired"), std::string::npos);
}

// K8: a training service (or PostgreSQL) away for longer than the TTL
// meant no heartbeat could land, and the first reaper pass afterwards
// expired every running lease. A reaper that starts (or reaches the
// database again) gives running leases a full TTL first; silence after that
// is the worker's, and still expires the lease.
TEST_F(TrainingServiceTest, LeasesOutliveAControlPlaneOutageButNotSilenceAfterIt) {
  const kiln::v1::Job job = Submit({});
  std::optional<kiln::v1::Lease> lease = Lease(Register("worker-a"), 2000);
  ASSERT_TRUE(lease);
  // The service is down for longer than the TTL (2 s): no heartbeats.
  absl::SleepFor(absl::Milliseconds(2500));
  {
    // It starts again; its reaper passes a few times.
    LeaseReaper reaper(*leases_, absl::Milliseconds(100));
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_EQ(Get(job.id()).state(), kiln::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Heartbeat(lease->lease_id()), kiln::v1::LEASE_STATUS_ACTIVE);
  EXPECT_EQ(Get(job.id()).attempt(), 1);

  // The worker then falls silent while the service runs: the lease lapses.
  {
    LeaseReaper reaper(*leases_, absl::Milliseconds(100));
    absl::SleepFor(absl::Milliseconds(3000));
  }
  EXPECT_EQ(Get(job.id()).state(), kiln::v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Heartbeat(lease->lease_id()), kiln::v1::LEASE_STATUS_LOST);
}

TEST_F(TrainingServiceTest, RetryableFailuresUseUpAttemptsThenTheJobFails) {
  kiln::v1::JobSpec spec;
  spec.set_max_attempts(2);
  const kiln::v1::Job job = Submit(spec);
  const std::string worker = Register("worker-a");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    std::optional<kiln::v1::Lease> lease = Lease(worker, 2000);
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->attempt(), attempt);
    kiln::v1::FailLeaseRequest fail;
    fail.set_lease_id(lease->lease_id());
    fail.set_error("gloo: connection reset by peer " + std::to_string(attempt));
    fail.set_retryable(true);
    kiln::v1::Job after;
    ASSERT_TRUE(training_stub_->FailLease(Context().get(), fail, &after).ok());
    EXPECT_EQ(after.state(),
              attempt == 1 ? kiln::v1::JOB_STATE_QUEUED : kiln::v1::JOB_STATE_FAILED);
  }
  const kiln::v1::Job failed = Get(job.id());
  EXPECT_NE(failed.error().find("connection reset by peer 2"), std::string::npos) << failed.error();
  EXPECT_FALSE(Lease(worker, 200).has_value());
}

TEST_F(TrainingServiceTest, LeasesGivenBackOnShutdownCostNoAttempt) {
  kiln::v1::JobSpec spec;
  spec.set_max_attempts(1);
  const kiln::v1::Job job = Submit(spec);
  const std::string worker = Register("worker-a");
  // Three shutdowns in a row, then a real failure: only the failure counts.
  for (int attempt = 1; attempt <= 4; ++attempt) {
    std::optional<kiln::v1::Lease> lease = Lease(worker, 2000);
    ASSERT_TRUE(lease) << "attempt " << attempt;
    EXPECT_EQ(lease->attempt(), attempt);
    kiln::v1::FailLeaseRequest fail;
    fail.set_lease_id(lease->lease_id());
    fail.set_retryable(true);
    const bool shutdown = attempt < 4;
    fail.set_error(shutdown ? "the worker is shutting down" : "gloo: connection reset by peer");
    fail.set_released(shutdown);
    kiln::v1::Job after;
    ASSERT_TRUE(training_stub_->FailLease(Context().get(), fail, &after).ok());
    EXPECT_EQ(after.state(), shutdown ? kiln::v1::JOB_STATE_QUEUED : kiln::v1::JOB_STATE_FAILED)
        << "attempt " << attempt;
  }
  const kiln::v1::Job failed = Get(job.id());
  EXPECT_NE(failed.error().find("no attempts left: 1 of 1"), std::string::npos) << failed.error();
}

TEST_F(TrainingServiceTest, CancelReachesRunningWorkersAndRefusesEndedJobs) {
  const kiln::v1::Job job = Submit({});
  std::optional<kiln::v1::Lease> lease = Lease(Register("worker-a"), 2000);
  ASSERT_TRUE(lease);
  EXPECT_EQ(Heartbeat(lease->lease_id()), kiln::v1::LEASE_STATUS_ACTIVE);

  kiln::v1::CancelJobRequest cancel;
  cancel.set_id(job.id());
  cancel.set_reason("wrong topics");
  kiln::v1::Job cancelled;
  EXPECT_EQ(training_stub_->CancelJob(Context(kReaderToken).get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(training_stub_->CancelJob(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), kiln::v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(cancelled.error(), "cancelled: wrong topics");
  EXPECT_EQ(Heartbeat(lease->lease_id()), kiln::v1::LEASE_STATUS_CANCELLED);

  grpc::Status again = training_stub_->CancelJob(Context().get(), cancel, &cancelled);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  kiln::v1::GetJobRequest unknown;
  unknown.set_id("job-999999");
  EXPECT_EQ(training_stub_->GetJob(Context().get(), unknown, &cancelled).error_code(),
            grpc::StatusCode::NOT_FOUND);
  unknown.set_id("42");
  EXPECT_EQ(training_stub_->GetJob(Context().get(), unknown, &cancelled).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrainingServiceTest, ListFiltersByStateAndModelAndPages) {
  for (int i = 0; i < 5; ++i) {
    kiln::v1::JobSpec spec;
    spec.set_model(i % 2 ? "odd" : "even");
    Submit(spec);
  }
  kiln::v1::CancelJobRequest cancel;
  cancel.set_id("job-000002");
  kiln::v1::Job cancelled;
  ASSERT_TRUE(training_stub_->CancelJob(Context().get(), cancel, &cancelled).ok());

  kiln::v1::ListJobsRequest request;
  request.set_page_size(2);
  kiln::v1::ListJobsResponse page;
  ASSERT_TRUE(training_stub_->ListJobs(Context().get(), request, &page).ok());
  ASSERT_EQ(page.jobs_size(), 2);
  EXPECT_EQ(page.jobs(0).id(), "job-000005");
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(training_stub_->ListJobs(Context().get(), request, &page).ok());
  EXPECT_EQ(page.jobs(0).id(), "job-000003");

  kiln::v1::ListJobsRequest filtered;
  filtered.set_model("odd");
  filtered.add_states(kiln::v1::JOB_STATE_QUEUED);
  ASSERT_TRUE(training_stub_->ListJobs(Context().get(), filtered, &page).ok());
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), "job-000004");
  EXPECT_TRUE(page.next_page_token().empty());
}

}  // namespace
}  // namespace kiln::training
