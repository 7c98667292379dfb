// Turns libpqxx/libpq failures into absl::Status so that nothing thrown by
// the database layer crosses a service's public API.
#pragma once

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln::db {

// Maps a database exception to a status code a caller can act on:
//   unique violation                      -> AlreadyExists
//   foreign key / other integrity errors  -> FailedPrecondition
//   check / not-null violation, bad data  -> InvalidArgument
//   serialization failure, deadlock,
//   lock not available                    -> Aborted (retry the transaction)
//   broken connection, server shutting
//   down, too many connections            -> Unavailable
//   statement timeout / cancel            -> DeadlineExceeded
//   connection lost during COMMIT         -> Unknown (may or may not have
//                                            committed)
//   anything else                         -> Internal
// The message is the server's (ERROR/DETAIL on one line) plus the SQLSTATE;
// `context` ("inserting post 12") is prepended when not empty.
absl::Status StatusFromException(const std::exception& error,
                                 absl::string_view context = {});

// Same for the exception being handled; call it only inside a catch block.
// Non-std exceptions become Internal.
absl::Status StatusFromCurrentException(absl::string_view context = {});

}  // namespace kiln::db
