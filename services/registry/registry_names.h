// Names the registry gives a meaning of its own. The rules for model, alias
// and file names are services/common/names.h.
#pragma once

#include "services/common/names.h"

namespace kiln::registry {

// The alias every publish moves; clients may not set or delete it.
inline constexpr char kLatestAlias[] = "latest";
// Travels in the publish header, not as a file; served beside the files.
inline constexpr char kManifestPath[] = "manifest.json";

}  // namespace kiln::registry
