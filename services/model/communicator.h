// The ranks of one data-parallel training job, talking through c10d's
// ProcessGroupGloo (the engine under PyTorch DDP) after meeting at a
// TCPStore hosted by rank 0.
//
// Failures (a peer that died, a timeout, a rendezvous that never completes)
// come back as absl::Status; after the first one the communicator is broken
// and every later call fails with the same status.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace kiln::model {

// What this rank handed to collectives so far: their count and the bytes
// of their inputs (not the transport's bytes on the wire, which depend on
// Gloo's algorithm).
struct CollectiveTraffic {
  int64_t collectives = 0;
  int64_t input_bytes = 0;
};

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  // Where rank 0 hosts the store and the others reach it. Rank 0 binds
  // `store_port`, or a free port when it is 0 (see Communicator::store_port).
  std::string store_host = "127.0.0.1";
  int store_port = 0;
  // Namespaces the store's keys, e.g. "<job id>/<attempt>": ranks of an
  // earlier attempt that are still around never pair with this one.
  std::string key_prefix = "kiln";
  // The address this rank's Gloo transport binds and announces to its
  // peers; empty means the address this host's name resolves to (or
  // loopback when it resolves to nothing).
  std::string transport_host;
  // Bound on the rendezvous and on every collective.
  absl::Duration timeout = absl::Seconds(30);
};

class Communicator {
 public:
  // Validates the options; rank 0 also starts the store server here, so
  // that its port is known (and can be handed to the other ranks) before
  // any of them connects.
  static absl::StatusOr<std::unique_ptr<Communicator>> Create(const DistributedOptions& options);
  ~Communicator();

  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // The store's port: the bound one on rank 0, the configured one elsewhere.
  int store_port() const;
  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // Forms the process group; blocks until every rank joined or the timeout.
  absl::Status Connect();

  // Element-wise sum over the ranks, in place; every rank ends with the same
  // bits.
  absl::Status AllReduceSum(absl::Span<float> values);
  // Every rank contributes local.size() floats (the same size everywhere);
  // `gathered` receives world_size of them in rank order.
  absl::Status AllGather(absl::Span<const float> local, absl::Span<float> gathered);

  const CollectiveTraffic& traffic() const { return traffic_; }

 private:
  struct Group;
  explicit Communicator(const DistributedOptions& options);
  // Runs a collective unless already broken; converts its exceptions.
  template <typename Body>
  absl::Status Run(const char* what, Body body);

  DistributedOptions options_;
  std::unique_ptr<Group> group_;
  absl::Status broken_;
  CollectiveTraffic traffic_;
};

}  // namespace kiln::model
