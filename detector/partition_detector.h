// PartitionDetector: classifies every canary record of one topic partition.
//
// Events in — records read at offsets, delivery outcomes (from the local
// canary or from the summaries records carry), out-of-range positions, seeks —
// and verdicts out, as cumulative ClassCounts. No librdkafka, RocksDB or clock
// inside: tests drive it with hand-built histories.
//
// How loss is proven. The detector keeps two offset maps: what the verifier
// read at each offset (`reads_`), and what acks say sits at offsets not read
// yet (`acks_`). A committed record is verified when both agree. When they
// disagree the detector does not guess which one is stale: it asks for a
// re-read from a little before the disagreement (a "rewind") and classifies
// from what the log holds now. A record acked at offset o is lost when, after
// that re-read, o holds something else (or nothing) and the record is nowhere
// else in the window; records read earlier whose offset now holds another
// record lose their place the same way. A sequence gap alone never counts.
//
// Failed deliveries (NOT_PERSISTED / POSSIBLY_PERSISTED) are settled once a
// sequence sent after the failure was reported has been read or judged (the
// "fence"): from then on the failed record can no longer land.
//
// Thread safety: none; the owner serializes calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "detector/interval_map.h"
#include "detector/types.h"

namespace kcanary {
namespace state {
class PartitionState;
}

struct DetectorOptions {
  /// Offsets re-read below a disagreement: the log may have diverged a little
  /// before the first offset where an ack shows it (unacked in-flight records).
  int64_t rewind_margin = 10'000;
  /// Offsets of read history kept behind the position: how far back an offset
  /// that changes its record can be caught, and duplicates found.
  int64_t read_window = 5'000'000;
  /// Upper bound on runs per map, so a storm of anomalies cannot grow memory
  /// without limit. The oldest history is dropped first.
  size_t max_runs = 50'000;
};

/// Result of one read, for the caller's latency metrics.
struct ReadResult {
  bool ignored = false;     // read while a seek is pending, or below the window
  bool first_read = false;  // the first time this record was read (`received`)
};

class PartitionDetector {
 public:
  PartitionDetector(int32_t partition, DetectorOptions options);

  int32_t partition() const { return partition_; }

  /// A fresh partition: history starts at `offset`; acks below it cannot be judged.
  void StartAt(int64_t offset);
  bool started() const { return position_ >= 0; }
  /// Next offset to read (-1 before StartAt/Load).
  int64_t position() const { return position_; }

  /// Marks `run_id` as this process's own canary run: records of it with a
  /// sequence never produced count as unexpected.
  void AddOwnRun(uint64_t run_id);
  /// The own canary handed sequences up to `seq` to the producer.
  void OnSent(uint64_t run_id, int64_t seq);

  ReadResult OnRecord(int64_t offset, uint64_t run_id, int64_t seq);
  /// Bytes at `offset` that are not a canary record of this partition.
  void OnInvalid(int64_t offset, const std::string& reason);

  /// Outcomes of sequences [first_seq, first_seq+count); idempotent, so the
  /// same outcome may arrive from the local canary and from many summaries.
  void OnOutcome(uint64_t run_id, int64_t first_seq, int64_t count, const DeliveryOutcome& outcome);

  /// The consumer's position is outside [log_start, log_end). Returns the
  /// offset to seek to; offsets skipped below log_start are expired.
  int64_t OnOffsetOutOfRange(int64_t log_start, int64_t log_end);

  /// Kafka found (KIP-320) that the log diverges from what was read at
  /// `divergence`: the leader's log no longer holds the records read at
  /// [divergence, position()). They lose their offsets at once (a committed
  /// record acked there and read nowhere else is lost; each offset that held
  /// one is an offset inconsistency), and the partition is re-read from
  /// `divergence`, which Kafka named exactly: no margin below it. Acks of
  /// offsets not read yet are judged by that re-read. Returns the offset to
  /// seek to. A divergence at or above the position changes nothing read.
  int64_t OnLogTruncated(int64_t divergence);

  /// Set when the consumer must seek to position() before reads count again.
  bool seek_pending() const { return awaiting_seek_; }
  void OnSeekDone() { awaiting_seek_ = false; }

  /// Drops history that can no longer matter (below log_start, outside the
  /// window, over the run cap).
  void Prune(int64_t log_start);

  const ClassCounts& counts() const { return counts_; }
  /// Committed records not read yet and not yet provable (lag).
  int64_t Unseen() const;
  /// Footprint figures, for tests and /status.
  size_t ReadRuns() const { return reads_.run_count(); }
  size_t PendingChecks() const { return pending_.size(); }
  /// Whether sequence `seq` of `run_id` was counted `received` (and its
  /// history is still kept). For tests that name what a count misses.
  bool WasReceived(uint64_t run_id, int64_t seq) const {
    auto it = streams_.find(run_id);
    return it != streams_.end() && InfoOf(it->second, seq).received();
  }
  /// Highest sequence read so far, per run.
  std::map<uint64_t, int64_t> LastSequences() const {
    std::map<uint64_t, int64_t> last;
    for (const auto& [run_id, s] : streams_) {
      if (s.pass_max_seq >= 0) last[run_id] = s.pass_max_seq;
    }
    return last;
  }

  void SaveTo(state::PartitionState* out) const;
  Status LoadFrom(const state::PartitionState& in);

 private:
  struct Stream {
    IntervalMap<SeqInfo> seqs;
    int64_t pass_max_seq = -1;    // highest seq read below the position in this pass
    int64_t max_seq_passed = -1;  // highest seq read or judged: settles fenced failures
    int64_t produced_through = -1;
    bool own = false;
    int64_t min_open_fence = INT64_MAX;  // lowest fence of an unsettled failure
  };

  Stream& GetStream(uint64_t run_id);
  Stream* FindStream(uint64_t run_id);
  SeqInfo InfoOf(const Stream& s, int64_t seq) const;
  void PutInfo(Stream& s, int64_t seq, const SeqInfo& info);
  // Applies fn(SeqInfo&) to each piece of [first, first+count) with uniform
  // state; fn sees the piece's start and length and may change any field but
  // ack_offset's progression.
  template <typename F>
  void UpdateRange(Stream& s, int64_t first, int64_t count, F&& fn);

  void ApplyRead(const RecordRef& x, int64_t offset, bool again, ReadResult& result);
  void SettleAckAt(int64_t offset, const std::optional<RecordRef>& now, bool counted);
  void JudgeNotAt(const RecordRef& acked, const std::optional<RecordRef>& now, bool counted);
  void LocationRemoved(const RecordRef& old, int64_t offset);
  void LocationsRemoved(const IntervalMap<RecordRef>::Run& gone);
  bool HasLocation(uint64_t run_id, int64_t seq, int64_t except_offset) const;
  void AfterAdvance(int64_t offset);
  void RequestRewind(int64_t offset);
  void RewindTo(int64_t offset);
  void AddPending(int64_t offset, const RecordRef& acked);

  void ApplyPersisted(Stream& s, uint64_t run_id, int64_t first, int64_t count, int64_t offset);
  void ApplyFailure(Stream& s, int64_t first, int64_t count, const DeliveryOutcome& outcome);
  void SetVerdict(uint64_t run_id, int64_t seq, int64_t count, Verdict verdict);
  void CountVerdict(const SeqInfo& info, Verdict verdict, uint64_t n);
  void Passed(Stream& s, int64_t seq);
  void SettleFailures(Stream& s);
  void RecomputePassMax();
  uint16_t ErrorIndex(const std::string& error);

  int32_t partition_;
  DetectorOptions options_;
  int64_t position_ = -1;
  int64_t floor_ = 0;
  uint64_t epoch_ = 0;  // read passes: bumped by every seek and restart
  bool awaiting_seek_ = false;
  IntervalMap<RecordRef> reads_;
  IntervalMap<AckRef> acks_;
  // Acked offsets whose read disagreed, settled by the next read there.
  std::multimap<int64_t, RecordRef> pending_;
  std::map<uint64_t, Stream> streams_;
  std::vector<std::string> errors_{""};
  ClassCounts counts_;
};

}  // namespace kcanary
