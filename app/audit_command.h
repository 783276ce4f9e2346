// `kcanary audit`: one pass of the durability checklist (SPEC §6) over a
// live cluster, printed for humans or as JSON.
#pragma once

#include <ostream>

#include "common/config/config.h"

namespace kcanary {

/// Prints the report to `out` and what went wrong, if anything, to `err`.
/// Returns the exit status: 0 every check passed, 1 a check failed, 2 the
/// audit could not be made (cluster unreachable, --topics matches nothing,
/// or a check whose facts could not be read, e.g. DescribeConfigs denied).
int RunAudit(const Config& config, std::ostream& out, std::ostream& err);

}  // namespace kcanary
