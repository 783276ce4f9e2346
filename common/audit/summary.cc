#include "common/audit/summary.h"

#include <set>
#include <string>

namespace kcanary::audit {

Summary Summarize(const std::vector<CheckResult>& results) {
  Summary summary;
  std::set<std::string> topics;
  for (const CheckResult& row : results) {
    topics.insert(row.topic);
    switch (row.verdict) {
      case Verdict::kPass:
        ++summary.pass;
        break;
      case Verdict::kFail:
        ++summary.fail;
        break;
      case Verdict::kUnknown:
        ++summary.unknown;
        break;
    }
  }
  summary.topics = topics.size();
  return summary;
}

}  // namespace kcanary::audit
