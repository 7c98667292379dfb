// Tells WatchJob streams when their job has news, so that they wait instead
// of polling the database.
//
// AppendEvent notifies kJobEventsChannel with the job's id in the
// transaction that stores the event; PostgreSQL delivers it on commit to
// every training replica listening. The notifier listens on a connection of
// its own, in a thread, and wakes the watchers of that job. When the
// connection is lost it reconnects with backoff; until then listening() is
// false and watchers must look for news themselves.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace kiln::training {

// What the notifier's connection calls itself in pg_stat_activity, unless
// the connection string names it otherwise.
inline constexpr char kNotifierApplicationName[] = "kiln-training-notifier";

class JobEventNotifier {
 public:
  // `connection_string` as for db::PoolOptions::uri. Connects in the
  // background: watchers poll until the first connection listens.
  explicit JobEventNotifier(const std::string& connection_string);
  JobEventNotifier(const JobEventNotifier&) = delete;
  JobEventNotifier& operator=(const JobEventNotifier&) = delete;
  // Stops the thread; at most about a second, or a connect timeout when
  // the database is unreachable at that moment.
  ~JobEventNotifier();

  // Whether notifications are being received right now.
  bool listening() const;

  // One watcher's interest in one job, for as long as it lives.
  class Subscription {
   public:
    Subscription(JobEventNotifier& notifier, int64_t job_id);
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();

    // Waits up to `timeout` for news of the job (a notification, or the
    // notifier connecting or disconnecting) that came after this
    // subscription started or after the last call that returned true.
    bool WaitForNews(absl::Duration timeout);

   private:
    JobEventNotifier& notifier_;
    const int64_t job_id_;
    uint64_t seen_;
  };

 private:
  struct Watched {
    int subscribers = 0;
    uint64_t news = 0;  // bumped at each piece of news
    std::condition_variable changed;
  };

  // The thread: connect, LISTEN, pass notifications on; after a failure,
  // again with backoff, until stopped.
  void Run();
  bool Stopping() const;
  void Notify(int64_t job_id);
  void SetListening(bool listening);

  const std::string connection_string_;
  mutable std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  bool listening_ = false;
  // Only jobs someone watches, so notifications of others cost nothing.
  std::map<int64_t, Watched> watched_;
  std::thread thread_;
};

}  // namespace kiln::training
