// The median the benchmarks quote: these machines are shared and noisy.
#pragma once

#include <algorithm>
#include <vector>

namespace kiln::bench {

// Of a non-empty list; the mean of the middle two for an even count.
inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace kiln::bench
