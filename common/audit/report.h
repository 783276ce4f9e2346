// Rendering audit rows (checks.h) for people and for machines.
//
//   std::vector<CheckResult> rows = Evaluate(input);
//   std::cout << (json ? RenderJson(rows) : RenderText(rows));
//
// Text, for `kcanary audit`:
//   TOPIC    CHECK                RESULT  VALUE
//   kcanary  replication_factor   PASS    3
//   kcanary  min_insync_replicas  FAIL    1 (Kafka default)
//       why: With min.insync.replicas=1 an acks=all write is acknowledged ...
//       fix: kafka-configs.sh --bootstrap-server <host:port> --alter ...
//   ...
//   7 checks on 1 topic: 6 pass, 1 fail, 0 unknown
//
// JSON, for `--format json`:
//   {"passing": false,
//    "summary": {"pass": 6, "fail": 1, "unknown": 0, "topics": 1},
//    "checks": [{"topic": "kcanary", "check": "replication_factor", "result": "PASS",
//                "value": "3", "why": "...", "fix": "..."}, ...]}
// Every JSON row has why and fix, passing or not; "passing" is AllPass().
// Both outputs end with a newline and keep the rows' order.
#pragma once

#include <string>
#include <vector>

#include "common/audit/checks.h"

namespace kcanary::audit {

std::string RenderText(const std::vector<CheckResult>& results);
std::string RenderJson(const std::vector<CheckResult>& results);

}  // namespace kcanary::audit
