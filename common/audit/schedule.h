// When the service's periodic durability audit runs next. Header-only: a
// pure function of the outcomes so far, unit-tested without a clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace kcanary::audit {

/// What one periodic audit of the canary topic managed to judge.
enum class AuditOutcome {
  kNothingToJudge,  // no metadata, or the canary topic not there (yet)
  kPartial,         // some checks could not be made (e.g. DescribeConfigs failed)
  kComplete,        // every check has a verdict
};

/// A complete audit is repeated every minute: settings change rarely, and a
/// failing one stays pending for minutes before it alerts anyway. What could
/// not be judged is retried soon, because it is mostly a transient state:
/// a topic just created that a broker does not know yet answers
/// DescribeConfigs with UNKNOWN_TOPIC_OR_PARTITION. A check that stays
/// unknown (DescribeConfigs denied by an ACL) backs off to the minute, so a
/// locked-down cluster is not asked every 5 s for months.
class AuditSchedule {
 public:
  static constexpr std::chrono::seconds kPeriod{60};
  static constexpr std::chrono::seconds kRetry{5};

  /// The delay before the next audit, given this one's outcome.
  std::chrono::seconds After(AuditOutcome outcome) {
    switch (outcome) {
      case AuditOutcome::kComplete:
        retry_ = kRetry;
        return kPeriod;
      case AuditOutcome::kNothingToJudge:
        return kRetry;
      case AuditOutcome::kPartial: {
        const std::chrono::seconds delay = retry_;
        retry_ = std::min(retry_ * 2, kPeriod);
        return delay;
      }
    }
    return kPeriod;
  }

 private:
  std::chrono::seconds retry_ = kRetry;  // the next partial audit's delay
};

}  // namespace kcanary::audit
