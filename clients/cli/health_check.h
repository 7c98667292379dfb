// The standard gRPC health check of one Kiln service.
#pragma once

#include <string>

namespace kiln::cli {

// Prints the outcome (JSON when `json`); returns 0 when SERVING.
int CheckHealth(const std::string& address, const std::string& token, double timeout_seconds,
                bool json);

}  // namespace kiln::cli
