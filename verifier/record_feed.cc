#include "verifier/record_feed.h"

#include "canary/outcome_log.h"
#include "proto/record_codec.h"

namespace kcanary {
namespace {

// Summaries age out of the records within a few entries, so a small memory
// suffices; clearing it only costs re-applying a few entries once.
constexpr size_t kAppliedOutcomesCap = 16384;

// Folds `value` into `hash`: multiply by an odd constant (2^64 / golden
// ratio) and fold the high half down, so small consecutive field values spread.
uint64_t Mix(uint64_t hash, uint64_t value) {
  hash = (hash ^ value) * 0x9e3779b97f4a7c15ULL;
  return hash ^ (hash >> 32);
}

}  // namespace

size_t RecordFeed::OutcomeKeyHash::operator()(const OutcomeKey& key) const {
  const auto& [partition, run, first, count, status, offset, error] = key;
  uint64_t hash = Mix(run, first);
  hash = Mix(hash, count);
  hash = Mix(hash, static_cast<uint64_t>(offset));
  hash = Mix(hash, (static_cast<uint64_t>(static_cast<uint32_t>(partition)) << 8) ^
                       static_cast<uint64_t>(status));
  if (!error.empty()) hash = Mix(hash, std::hash<std::string>()(error));
  return static_cast<size_t>(hash);
}

std::optional<double> RecordFeed::Feed(PartitionDetector& detector, int32_t partition,
                                       int64_t offset, std::string_view value, double now) {
  std::optional<InvalidReason> invalid = DecodeRecordInto(value, &record_);
  if (!invalid && record_.partition() != partition) invalid = InvalidReason::kPartitionMismatch;
  if (invalid) {
    detector.OnInvalid(offset, std::string(InvalidReasonName(*invalid)));
    return std::nullopt;
  }
  const wire::CanaryRecord& r = record_;
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
