#include "services/registry/registry_client.h"

#include <algorithm>

#include "services/common/client.h"
#include "services/common/status.h"
#include "services/registry/publish_session.h"

namespace kiln::registry {

absl::StatusOr<kiln::v1::ModelVersion> PublishBundle(
    kiln::v1::RegistryService::StubInterface& stub, const std::string& token,
    const kiln::v1::PublishHeader& header, const std::map<std::string, std::string>& files) {
  grpc::ClientContext context;
  PrepareContext(context, token);
  kiln::v1::ModelVersion version;
  std::unique_ptr<grpc::ClientWriterInterface<kiln::v1::PublishVersionRequest>> writer =
      stub.PublishVersion(&context, &version);
  kiln::v1::PublishVersionRequest request;
  *request.mutable_header() = header;
  // A failed Write means the server ended the call; Finish() says why.
  bool open = writer->Write(request);
  for (auto file = files.begin(); open && file != files.end(); ++file) {
    const std::string& bytes = file->second;
    size_t offset = 0;
    do {
      const size_t size = std::min<size_t>(kMaxChunkBytes, bytes.size() - offset);
      request.Clear();
      kiln::v1::FileChunk* chunk = request.mutable_file();
      chunk->set_path(file->first);
      chunk->set_offset(static_cast<int64_t>(offset));
      chunk->set_data(bytes.data() + offset, size);
      offset += size;
      chunk->set_last(offset == bytes.size());
      open = writer->Write(request);
    } while (open && offset < bytes.size());
  }
  if (open) {
    request.Clear();
    request.mutable_commit();
    writer->Write(request);
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return version;
}

}  // namespace kiln::registry
