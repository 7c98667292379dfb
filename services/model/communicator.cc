#include "services/model/communicator.h"

#include <ATen/ops/empty.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kiln::model {

struct Communicator::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> process_group;
};

namespace {

std::chrono::milliseconds ToChrono(absl::Duration duration) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(duration));
}

// Collectives work on buffers ATen owns: a collective that timed out may
// still be running in Gloo's thread, and must not write into caller memory
// that is gone by then.
at::Tensor OwnedCopy(const float* data, size_t size) {
  at::Tensor tensor = at::empty({static_cast<int64_t>(size)}, at::kFloat);
  std::memcpy(tensor.data_ptr<float>(), data, size * sizeof(float));
  return tensor;
}

c10d::TCPStoreOptions StoreOptions(const DistributedOptions& options, bool is_server) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(options.store_port);
  store_options.isServer = is_server;
  store_options.numWorkers = static_cast<size_t>(options.world_size);
  // Rank 0 must return from Create before the others can learn its port.
  store_options.waitWorkers = false;
  store_options.timeout = ToChrono(options.timeout);
  return store_options;
}

}  // namespace

Communicator::Communicator(const DistributedOptions& options)
    : options_(options), group_(std::make_unique<Group>()) {}

Communicator::~Communicator() = default;

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Create(
    const DistributedOptions& options) {
  if (options.world_size < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("distributed: world_size is ", options.world_size,
                     ", allowed >= 2 (a single rank trains without a communicator)"));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("distributed: rank is ", options.rank,
                                                   ", allowed 0..", options.world_size - 1));
  }
  if (options.store_port < 0 || options.store_port > 65535 ||
      (options.rank != 0 && options.store_port == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("distributed: store_port is ", options.store_port,
                     ", allowed 1..65535 (0, a free port, only on rank 0)"));
  }
  if (options.store_host.empty() || options.key_prefix.empty()) {
    return absl::InvalidArgumentError("distributed: store_host and key_prefix must be set");
  }
  if (options.timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("distributed: timeout must be at least 1 ms");
  }
  std::unique_ptr<Communicator> communicator(new Communicator(options));
  if (options.rank == 0) {
    try {
      communicator->group_->store =
          c10::make_intrusive<c10d::TCPStore>(options.store_host, StoreOptions(options, true));
    } catch (const std::exception& error) {
      return absl::UnavailableError(absl::StrCat("distributed: cannot host the store at ",
                                                 options.store_host, ":", options.store_port, ": ",
                                                 error.what()));
    }
  }
  return communicator;
}

int Communicator::store_port() const {
  return group_->store ? group_->store->getPort() : options_.store_port;
}

absl::Status Communicator::Connect() {
  if (group_->process_group) return absl::FailedPreconditionError("distributed: already connected");
  try {
    if (!group_->store) {
      group_->store =
          c10::make_intrusive<c10d::TCPStore>(options_.store_host, StoreOptions(options_, false));
    }
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(options_.key_prefix, group_->store);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(ToChrono(options_.timeout));
    gloo_options->devices.push_back(
        options_.transport_host.empty()
            ? c10d::ProcessGroupGloo::createDefaultDevice()
            : c10d::ProcessGroupGloo::createDeviceForHostname(options_.transport_host));
    // One collective is in flight at a time.
    gloo_options->threads = 1;
    group_->process_group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        prefixed, options_.rank, options_.world_size, gloo_options);
  } catch (const std::exception& error) {
    broken_ = absl::UnavailableError(
        absl::StrCat("distributed: rank ", options_.rank, " of ", options_.world_size,
                     " could not join the group at ", options_.store_host, ":", store_port(),
                     " within ", absl::FormatDuration(options_.timeout), ": ", error.what()));
    return broken_;
  }
  return absl::OkStatus();
}

template <typename Body>
absl::Status Communicator::Run(const char* what, Body body) {
  if (!broken_.ok()) return broken_;
  if (!group_->process_group) return absl::FailedPreconditionError("distributed: not connected");
  try {
    c10::intrusive_ptr<c10d::Work> work = body(*group_->process_group);
    work->wait(ToChrono(options_.timeout));
  } catch (const std::exception& error) {
    broken_ = absl::UnavailableError(
        absl::StrCat("distributed: ", what, " failed on rank ", options_.rank, " of ",
                     options_.world_size, " (a peer left or timed out after ",
                     absl::FormatDuration(options_.timeout), "): ", error.what()));
  }
  return broken_;
}

absl::Status Communicator::AllReduceSum(absl::Span<float> values) {
  ++traffic_.collectives;
  traffic_.input_bytes += static_cast<int64_t>(values.size() * sizeof(float));
  std::vector<at::Tensor> tensors = {OwnedCopy(values.data(), values.size())};
  absl::Status status =
      Run("all-reduce", [&](c10d::ProcessGroupGloo& group) { return group.allreduce(tensors); });
  if (status.ok())
    std::memcpy(values.data(), tensors[0].data_ptr<float>(), values.size() * sizeof(float));
  return status;
}

absl::Status Communicator::AllGather(absl::Span<const float> local, absl::Span<float> gathered) {
  if (gathered.size() != local.size() * static_cast<size_t>(options_.world_size)) {
    return absl::InvalidArgumentError("distributed: all-gather output is not world_size inputs");
  }
  ++traffic_.collectives;
  traffic_.input_bytes += static_cast<int64_t>(local.size() * sizeof(float));
  std::vector<at::Tensor> inputs = {OwnedCopy(local.data(), local.size())};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int rank = 0; rank < options_.world_size; ++rank) {
    outputs[0].push_back(at::empty({static_cast<int64_t>(local.size())}, at::kFloat));
  }
  absl::Status status = Run("all-gather", [&](c10d::ProcessGroupGloo& group) {
    return group.allgather(outputs, inputs);
  });
  if (!status.ok()) return status;
  for (int rank = 0; rank < options_.world_size; ++rank) {
    std::memcpy(gathered.data() + rank * local.size(), outputs[0][rank].data_ptr<float>(),
                local.size() * sizeof(float));
  }
  return status;
}

}  // namespace kiln::model
