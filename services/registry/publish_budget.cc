#include "services/registry/publish_budget.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kiln::registry {
namespace {

std::string MiB(int64_t bytes) { return absl::StrCat((bytes + (1 << 20) - 1) >> 20, " MiB"); }

}  // namespace

PublishBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

PublishBudget::Reservation& PublishBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

PublishBudget::Reservation::~Reservation() { Release(); }

void PublishBudget::Reservation::Release() {
  if (budget_ == nullptr) return;
  absl::MutexLock lock(&budget_->mutex_);
  budget_->held_ -= bytes_;
  --budget_->publishes_;
  budget_ = nullptr;
  bytes_ = 0;
}

absl::StatusOr<PublishBudget::Reservation> PublishBudget::Reserve(int64_t bytes) {
  absl::MutexLock lock(&mutex_);
  if (bytes > capacity_ - held_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "this publish needs ", MiB(bytes), " and ", publishes_,
        " publishes in progress hold ", MiB(held_), " of the registry's ", MiB(capacity_),
        " publish memory (KILN_MAX_PUBLISH_MIB); try again once they finish"));
  }
  held_ += bytes;
  ++publishes_;
  return Reservation(this, bytes);
}

int64_t PublishBudget::held() const {
  absl::MutexLock lock(&mutex_);
  return held_;
}

}  // namespace kiln::registry
