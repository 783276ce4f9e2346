// Logging of failed state-store writes at a bounded rate. A full disk fails
// every write, dozens a second, for as long as it stays full: one line per
// failure would flood the journal (and fill the disk kcanary logs to). The
// first failure is logged at once, then one summary line per interval, and
// the first success after failures says how many writes failed in between.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "common/log_throttle.h"
#include "common/status.h"

namespace kcanary {

class WriteFailureLog {
 public:
  using Clock = LogThrottle::Clock;

  /// `who` prefixes every line ("verifier", "canary"); `consequence` says
  /// what the failure means for the user ("offsets not committed").
  WriteFailureLog(std::string who, std::string consequence,
                  Clock::duration interval = std::chrono::seconds(10))
      : who_(std::move(who)), consequence_(std::move(consequence)), throttle_(interval) {}

  void Failed(const Status& s, Clock::time_point now = Clock::now()) {
    ++failures_;
    uint64_t held_back = 0;  // the "so far" count says it already
    if (!throttle_.Admit(now, &held_back)) return;
    spdlog::error("{}: state not stored ({} failed write{} so far), {}: {}", who_, failures_,
                  failures_ == 1 ? "" : "s", consequence_, s.message());
  }

  void Succeeded() {
    if (failures_ == 0) return;
    spdlog::info("{}: state stored again after {} failed write{}", who_, failures_,
                 failures_ == 1 ? "" : "s");
    failures_ = 0;
    throttle_.Reset();  // the next outage is news again
  }

  /// Failed writes since the last success.
  uint64_t failures() const { return failures_; }

 private:
  const std::string who_;
  const std::string consequence_;
  uint64_t failures_ = 0;
  LogThrottle throttle_;
};

}  // namespace kcanary
