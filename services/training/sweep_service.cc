#include "services/training/sweep_service.h"

#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/training/job_admission.h"
#include "services/training/sweep_grid.h"

namespace kiln::training {
namespace {

template <typename T, typename Response>
grpc::Status Reply(absl::StatusOr<T> result, Response* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status SweepServiceImpl::CreateSweep(grpc::ServerContext* context,
                                           const kiln::v1::CreateSweepRequest* request,
                                           kiln::v1::Sweep* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<std::vector<SweepCombination>> combinations = ExpandSweep(request->plan());
  if (!combinations.ok()) return ToGrpcStatus(combinations.status());
  // Every spec is checked before anything is stored.
  for (size_t i = 0; i < combinations->size(); ++i) {
    SweepCombination& combination = (*combinations)[i];
    absl::StatusOr<kiln::v1::JobSpec> spec = AdmitJobSpec(
        std::move(combination.spec), options_.default_max_attempts, options_.max_job_bytes);
    if (!spec.ok()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("combination ", i + 1, " of ", combinations->size(), " (",
                       DescribeCombination(request->plan(), combination.values),
                       "): ", spec.status().message()));
    }
    combination.spec = *std::move(spec);
  }
  absl::StatusOr<kiln::v1::Sweep> sweep = sweeps_.Create(request->plan(), *combinations);
  if (sweep.ok()) log::Info("created ", sweep->id(), " with ", sweep->trials_size(), " jobs");
  return Reply(std::move(sweep), response);
}

grpc::Status SweepServiceImpl::GetSweep(grpc::ServerContext* context,
                                        const kiln::v1::GetSweepRequest* request,
                                        kiln::v1::GetSweepResponse* response) {
  KILN_AUTHORIZE(context);
  return Reply(sweeps_.Get(request->id()), response);
}

grpc::Status SweepServiceImpl::ListSweeps(grpc::ServerContext* context,
                                          const kiln::v1::ListSweepsRequest* request,
                                          kiln::v1::ListSweepsResponse* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidatePageSize(request->page_size()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  return Reply(sweeps_.List(request->page_size(), request->page_token()), response);
}

}  // namespace kiln::training
