// Internal to kcanary::audit: the counts both renderings summarise.
#pragma once

#include <cstddef>
#include <vector>

#include "common/audit/checks.h"

namespace kcanary::audit {

struct Summary {
  size_t pass = 0;
  size_t fail = 0;
  size_t unknown = 0;
  size_t topics = 0;  // distinct topic names among the rows
};

Summary Summarize(const std::vector<CheckResult>& results);

}  // namespace kcanary::audit
