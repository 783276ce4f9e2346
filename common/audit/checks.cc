#include "common/audit/checks.h"

#include <algorithm>
#include <set>

#include "common/audit/client_checks.h"
#include "common/audit/topic_checks.h"

namespace kcanary::audit {
namespace {

void Append(std::vector<CheckResult>& rows, CheckResult row) { rows.push_back(std::move(row)); }

void AppendClientChecks(std::vector<CheckResult>& rows, const std::string& topic,
                        const ClientFacts& client) {
  Append(rows, CheckProducerAcks(topic, client.producer));
  Append(rows, CheckProducerRetries(topic, client.producer));
  Append(rows, CheckConsumerManualCommit(topic, client.consumer));
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kUnknown:
      break;
  }
  return "UNKNOWN";
}

std::vector<CheckResult> Evaluate(const AuditInput& input) {
  // First entry per name, canary topic first, then by name.
  std::vector<const TopicFacts*> topics;
  std::set<std::string> seen;
  for (const TopicFacts& topic : input.topics) {
    if (seen.insert(topic.name).second) topics.push_back(&topic);
  }
  const std::string& canary = input.canary_topic;
  std::ranges::sort(topics, [&canary](const TopicFacts* a, const TopicFacts* b) {
    const bool a_canary = !canary.empty() && a->name == canary;
    const bool b_canary = !canary.empty() && b->name == canary;
    if (a_canary != b_canary) return a_canary;
    return a->name < b->name;
  });

  std::vector<CheckResult> rows;
  if (!canary.empty() && !seen.contains(canary)) {
    Append(rows, CheckTopicMissing(canary, input.brokers.size()));
    AppendClientChecks(rows, canary, input.client);
  }
  for (const TopicFacts* topic : topics) {
    Append(rows, CheckReplicationFactor(*topic));
    Append(rows, CheckMinInsyncReplicas(*topic));
    Append(rows, CheckRfExceedsMinIsr(*topic));
    Append(rows, CheckUncleanLeaderElection(*topic, input.brokers));
    if (topic->name == canary) AppendClientChecks(rows, canary, input.client);
  }
  return rows;
}

bool AllPass(const std::vector<CheckResult>& results) {
  return std::ranges::all_of(results,
                             [](const CheckResult& r) { return r.verdict == Verdict::kPass; });
}

int ExitCode(const std::vector<CheckResult>& results) {
  const auto has = [&results](Verdict v) {
    return std::ranges::any_of(results, [v](const CheckResult& r) { return r.verdict == v; });
  };
  if (has(Verdict::kFail)) return 1;
  if (has(Verdict::kUnknown)) return 2;
  return 0;
}

}  // namespace kcanary::audit
