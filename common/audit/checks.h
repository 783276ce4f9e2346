// The durability checklist (SPEC §6): one CheckResult row per (topic, check),
// judged on facts gathered elsewhere (facts.h).
//
//   std::vector<CheckResult> rows = Evaluate(input);
//   std::cout << RenderText(rows);  // report.h
//   return ExitCode(rows);
//
// Checks, in the order each topic's rows appear:
//   replication_factor       every partition has >= 3 replicas
//   min_insync_replicas      effective min.insync.replicas >= 2
//   rf_exceeds_min_isr       fewest replicas > min.insync.replicas
//   unclean_leader_election  off for the topic and, unless the topic overrides
//                            it, on every broker
//   producer_acks            canary topic only: kcanary's producer uses acks=all
//   producer_retries         canary topic only: idempotence on, or retries > 0
//   consumer_manual_commit   canary topic only: enable.auto.commit=false
// Plus one extra check, not in SPEC §6, for a canary topic absent from
// AuditInput::topics:
//   topic_exists             always FAIL ("missing"); replaces the four topic
//                            checks, so the canary's rows are topic_exists and
//                            the three client checks.
//
// A check whose facts are missing (configs not read, no partition metadata, a
// value that does not parse) is UNKNOWN, never PASS: an audit that could not
// look must not report the cluster safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/audit/facts.h"

namespace kcanary::audit {

enum class Verdict {
  kPass,
  kFail,
  kUnknown
};  // kUnknown: facts missing (e.g. DescribeConfigs denied)

// "PASS", "FAIL" or "UNKNOWN".
std::string_view VerdictName(Verdict verdict);

struct CheckResult {
  std::string topic;
  std::string check;  // one of the names listed at the top of this file
  Verdict verdict = Verdict::kUnknown;
  // What was seen, with its source: "1 (topic override)", "2..3",
  // "true on broker 2 (broker (static))", "acks=1"; for UNKNOWN, why not.
  std::string value;
  std::string why;  // one sentence: how this setting decides whether Kafka can lose a message
  std::string fix;  // one concrete command or setting
};

// Rows ordered by topic (the canary topic first, then by name), then by the
// check order above. A topic listed twice in input.topics is judged once (the
// first entry). An empty input.canary_topic means no canary: no client checks
// and no topic_exists row.
std::vector<CheckResult> Evaluate(const AuditInput& input);

// True if no row is FAIL or UNKNOWN (an empty list passes).
bool AllPass(const std::vector<CheckResult>& results);

// kcanary audit's exit status: 0 all pass, 1 any FAIL, 2 no FAIL but some
// UNKNOWN (the audit is incomplete).
int ExitCode(const std::vector<CheckResult>& results);

}  // namespace kcanary::audit
