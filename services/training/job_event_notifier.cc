#include "services/training/job_event_notifier.h"

#include <libpq-fe.h>

#include <algorithm>
#include <functional>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/log.h"
#include "services/training/job_rows.h"

namespace kiln::training {
namespace {

// How often the listening thread looks whether it should stop.
constexpr absl::Duration kStopCheck = absl::Milliseconds(500);
constexpr absl::Duration kFirstRetry = absl::Milliseconds(100);
constexpr absl::Duration kLastRetry = absl::Seconds(5);

// The connection string with what a connection that lives for ever and is
// retried anyway needs, unless the caller set it: a short connect timeout
// (libpq's default waits for ever, which would hang the destructor),
// keepalives that notice a silently cut network within about a minute, and
// a name to find it by in pg_stat_activity.
std::string ListenerConnectionString(const std::string& connection_string) {
  PQconninfoOption* options = PQconninfoParse(connection_string.c_str(), nullptr);
  // The pool was made from the same string, so it parses; if not, connecting
  // reports why.
  if (options == nullptr) return connection_string;
  std::string result;
  std::set<std::string> given;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    given.insert(option->keyword);
    std::string quoted;
    for (const char* c = option->val; *c != '\0'; ++c) {
      if (*c == '\'' || *c == '\\') quoted += '\\';
      quoted += *c;
    }
    absl::StrAppend(&result, option->keyword, "='", quoted, "' ");
  }
  PQconninfoFree(options);
  const std::pair<const char*, std::string> defaults[] = {
      {"connect_timeout", "2"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"application_name", kNotifierApplicationName}};
  for (const auto& [keyword, value] : defaults) {
    if (given.count(keyword) == 0) absl::StrAppend(&result, keyword, "='", value, "' ");
  }
  return result;
}

// Hands each notification's job id to `notify`; registering it LISTENs.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& connection, std::function<void(int64_t)> notify)
      : pqxx::notification_receiver(connection, kJobEventsChannel), notify_(std::move(notify)) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    int64_t job_id = 0;
    if (absl::SimpleAtoi(payload, &job_id)) notify_(job_id);
  }

 private:
  const std::function<void(int64_t)> notify_;
};

}  // namespace

JobEventNotifier::JobEventNotifier(const std::string& connection_string)
    : connection_string_(ListenerConnectionString(connection_string)),
      thread_([this] { Run(); }) {}

JobEventNotifier::~JobEventNotifier() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

bool JobEventNotifier::listening() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return listening_;
}

bool JobEventNotifier::Stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void JobEventNotifier::Run() {
  absl::Duration retry = kFirstRetry;
  bool outage_logged = false;  // once per outage, not at every retry
  while (!Stopping()) {
    try {
      pqxx::connection connection(connection_string_);
      Receiver receiver(connection, [this](int64_t job_id) { Notify(job_id); });
      SetListening(true);
      if (outage_logged) log::Info("receiving job event notifications again");
      outage_logged = false;
      retry = kFirstRetry;
      // A timeout, so that the destructor need not wait for a notification.
      while (!Stopping()) {
        connection.await_notification(0, absl::ToInt64Microseconds(kStopCheck));
        // A lost connection does not always throw: it may just be closed.
        if (!connection.is_open()) throw pqxx::broken_connection("the connection closed");
      }
    } catch (const std::exception& error) {
      SetListening(false);
      if (!outage_logged) {
        log::Warning("cannot receive job event notifications (",
                     absl::StripTrailingAsciiWhitespace(error.what()),
                     "); job watchers poll until they are back");
        outage_logged = true;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      stop_.wait_for(lock, absl::ToChronoMilliseconds(retry), [this] { return stopping_; });
      retry = std::min(2 * retry, kLastRetry);
    }
  }
}

void JobEventNotifier::Notify(int64_t job_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto watched = watched_.find(job_id);
  if (watched == watched_.end()) return;
  ++watched->second.news;
  watched->second.changed.notify_all();
}

void JobEventNotifier::SetListening(bool listening) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (listening_ == listening) return;
  listening_ = listening;
  // News for everyone: notifications may have been missed while nobody
  // listened, and watchers choose how long to wait by whether anyone does.
  for (auto& [job_id, watched] : watched_) {
    ++watched.news;
    watched.changed.notify_all();
  }
}

JobEventNotifier::Subscription::Subscription(JobEventNotifier& notifier, int64_t job_id)
    : notifier_(notifier), job_id_(job_id) {
  std::lock_guard<std::mutex> lock(notifier_.mutex_);
  Watched& watched = notifier_.watched_[job_id_];
  ++watched.subscribers;
  seen_ = watched.news;
}

JobEventNotifier::Subscription::~Subscription() {
  std::lock_guard<std::mutex> lock(notifier_.mutex_);
  auto watched = notifier_.watched_.find(job_id_);
  if (--watched->second.subscribers == 0) notifier_.watched_.erase(watched);
}

bool JobEventNotifier::Subscription::WaitForNews(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(notifier_.mutex_);
  Watched& watched = notifier_.watched_.find(job_id_)->second;
  if (!watched.changed.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                                [&] { return watched.news != seen_; })) {
    return false;
  }
  seen_ = watched.news;
  return true;
}

}  // namespace kiln::training
