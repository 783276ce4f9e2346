#include "verifier/record_feed.h"

#include "canary/outcome_log.h"
#include "proto/record_codec.h"

namespace kcanary {
namespace {

// Summaries age out of the records within a few entries, so a small memory
// suffices; clearing it only costs re-applying a few entries once.
constexpr size_t kAppliedOutcomesCap = 16384;

}  // namespace

std::optional<double> RecordFeed::Feed(PartitionDetector& detector, int32_t partition,
                                       int64_t offset, std::string_view value, double now) {
  DecodeResult decoded = DecodeRecord(value);
  if (decoded.record && decoded.record->partition() != partition) {
    decoded.record.reset();
    decoded.reason = InvalidReason::kPartitionMismatch;
  }
  if (!decoded.record) {
    detector.OnInvalid(offset, std::string(InvalidReasonName(decoded.reason)));
    return std::nullopt;
  }
  const wire::CanaryRecord& r = *decoded.record;
  const ReadResult result =
      detector.OnRecord(offset, r.run_id(), static_cast<int64_t>(r.sequence()));
  if (result.ignored) return std::nullopt;  // a re-read is coming; it will be judged then
  for (const wire::Outcome& o : r.outcomes()) {
    OutcomeKey key{partition,  r.run_id(),       o.first_sequence(), o.count(),
                   o.status(), o.first_offset(), o.error()};
    if (!applied_outcomes_.insert(std::move(key)).second) continue;
    detector.OnOutcome(r.run_id(), static_cast<int64_t>(o.first_sequence()),
                       static_cast<int64_t>(o.count()), OutcomeFromWire(o));
  }
  if (applied_outcomes_.size() > kAppliedOutcomesCap) applied_outcomes_.clear();
  if (!result.first_read) return std::nullopt;
  return now - static_cast<double>(r.produce_time_us()) / 1e6;
}

}  // namespace kcanary
