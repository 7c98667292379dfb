// A version ready to store: everything a publish stream carried, checked.
#pragma once

#include <map>
#include <string>

#include "kiln/v1/registry.pb.h"
#include "services/registry/manifest.h"

namespace kiln::registry {

struct NewVersion {
  std::string model;
  std::string manifest_json;
  std::string manifest_sha256;
  Manifest manifest;
  // The manifest's metrics overlaid with the publish header's.
  std::map<std::string, double> metrics;
  kiln::v1::Lineage lineage;
  std::string description;
  // Path -> bytes for every file of manifest.files, each verified against
  // its size and sha256.
  std::map<std::string, std::string> contents;
};

}  // namespace kiln::registry
