#include "common/audit/report.h"

#include <nlohmann/json.hpp>

#include "common/audit/summary.h"

namespace kcanary::audit {

std::string RenderJson(const std::vector<CheckResult>& results) {
  // ordered_json keeps keys in the documented order, easier to read by eye.
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const CheckResult& row : results) {
    checks.push_back({
        {"topic", row.topic},
        {"check", row.check},
        {"result", VerdictName(row.verdict)},
        {"value", row.value},
        {"why", row.why},
        {"fix", row.fix},
    });
  }
  const Summary s = Summarize(results);
  const nlohmann::ordered_json doc = {
      {"passing", AllPass(results)},
      {"summary",
       {{"pass", s.pass}, {"fail", s.fail}, {"unknown", s.unknown}, {"topics", s.topics}}},
      {"checks", std::move(checks)},
  };
  // Replace invalid UTF-8 (a config value could hold anything) instead of throwing.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace kcanary::audit
