// The gRPC surface of the preprocessing service: vocabularies and encoded
// sequences built with services/text from posts read off the data service.
#pragma once

#include "kiln/v1/preprocess.grpc.pb.h"
#include "services/data/data_client.h"
#include "services/preprocess/vocabulary_store.h"

namespace kiln::preprocess {

class PreprocessServiceImpl final : public kiln::v1::PreprocessService::Service {
 public:
  PreprocessServiceImpl(VocabularyStore& vocabularies, data::DataClient& posts)
      : vocabularies_(vocabularies), posts_(posts) {}

  grpc::Status BuildVocabulary(grpc::ServerContext* context,
                               const kiln::v1::BuildVocabularyRequest* request,
                               kiln::v1::Vocabulary* response) override;
  grpc::Status GetVocabulary(grpc::ServerContext* context,
                             const kiln::v1::GetVocabularyRequest* request,
                             kiln::v1::Vocabulary* response) override;
  grpc::Status Encode(grpc::ServerContext* context, const kiln::v1::EncodeRequest* request,
                      grpc::ServerWriter<kiln::v1::EncodeResponse>* writer) override;
  grpc::Status Tokenize(grpc::ServerContext* context, const kiln::v1::TokenizeRequest* request,
                        kiln::v1::TokenizeResponse* response) override;

 private:
  VocabularyStore& vocabularies_;
  data::DataClient& posts_;
};

}  // namespace kiln::preprocess
