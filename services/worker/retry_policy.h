// Which failures a worker tries again, and at what scope.
#pragma once

#include "absl/status/status.h"

namespace kiln::worker {

// Errors another attempt may not hit: the network, a lost peer, a busy
// service. Bad specs and empty datasets fail the job at once.
inline bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kOutOfRange:
      return false;
    default:
      return true;
  }
}

// The control plane was unreachable or busy; the same call may work later.
inline bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status) || absl::IsAborted(status);
}

}  // namespace kiln::worker
