#include "detector/partition_detector.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

namespace kcanary {
namespace {

bool IsFailure(Delivery d) { return d == Delivery::kNotPersisted || d == Delivery::kPossibly; }

// Verdicts only move forward: undecided to decided, and verified to lost when
// a record that was read later disappears from the log.
bool Allowed(Verdict from, Verdict to) {
  if (from == to) return false;
  if (from == Verdict::kNone) return true;
  return from == Verdict::kVerified && to == Verdict::kLost;
}

}  // namespace

PartitionDetector::PartitionDetector(int32_t partition, DetectorOptions options)
    : partition_(partition), options_(options) {}

void PartitionDetector::StartAt(int64_t offset) {
  position_ = offset;
  floor_ = offset;
  // Acks that arrived before the verifier chose where to start (the canary
  // may be first to see a new partition) cannot be judged below it.
  std::vector<RecordRef> unjudged;
  acks_.ForEach(INT64_MIN, offset, [&](const IntervalMap<AckRef>::Run& r) {
    for (int64_t k = r.start; k < r.end(); ++k) unjudged.push_back(r.At(k).record);
  });
  if (!acks_.empty() && acks_.min_key() < offset) acks_.EraseBelow(offset);
  for (const RecordRef& r : unjudged) SetVerdict(r.run_id, r.seq, 1, Verdict::kUnjudged);
}

void PartitionDetector::AddOwnRun(uint64_t run_id) { GetStream(run_id).own = true; }

void PartitionDetector::OnSent(uint64_t run_id, int64_t seq) {
  Stream& s = GetStream(run_id);
  s.own = true;
  s.produced_through = std::max(s.produced_through, seq);
}

PartitionDetector::Stream& PartitionDetector::GetStream(uint64_t run_id) {
  return streams_[run_id];
}

PartitionDetector::Stream* PartitionDetector::FindStream(uint64_t run_id) {
  auto it = streams_.find(run_id);
  return it == streams_.end() ? nullptr : &it->second;
}

SeqInfo PartitionDetector::InfoOf(const Stream& s, int64_t seq) const {
  return s.seqs.Get(seq).value_or(SeqInfo{});
}

void PartitionDetector::PutInfo(Stream& s, int64_t seq, const SeqInfo& info) {
  if (info == SeqInfo{}) {
    s.seqs.Erase(seq);
  } else {
    s.seqs.Set(seq, info);
  }
}

template <typename F>
void PartitionDetector::UpdateRange(Stream& s, int64_t first, int64_t count, F&& fn) {
  struct Piece {
    int64_t start;
    int64_t length;
    SeqInfo info;
  };
  // Most updates cover one or two runs: their pieces stay on the stack, and
  // only a longer list spills to the heap (an allocation per record read was
  // ~5 % of the verifier's CPU).
  constexpr size_t kInline = 8;
  std::array<Piece, kInline> inline_pieces;
  std::vector<Piece> spilled;
  size_t n = 0;
  auto add = [&](const Piece& piece) {
    if (n < kInline) {
      inline_pieces[n] = piece;
    } else {
      if (spilled.empty()) spilled.assign(inline_pieces.begin(), inline_pieces.end());
      spilled.push_back(piece);
    }
    ++n;
  };
  int64_t cursor = first;
  const int64_t end = first + count;
  s.seqs.ForEach(first, end, [&](const IntervalMap<SeqInfo>::Run& run) {
    if (run.start > cursor) add({cursor, run.start - cursor, SeqInfo{}});
    add({run.start, run.length, run.first});
    cursor = run.end();
  });
  if (cursor < end) add({cursor, end - cursor, SeqInfo{}});
  const Piece* pieces = n <= kInline ? inline_pieces.data() : spilled.data();
  for (const Piece& p : std::span(pieces, n)) {
    SeqInfo info = p.info;
    fn(info, p.start, p.length);
    if (info == p.info) continue;
    if (info == SeqInfo{}) {
      s.seqs.EraseRange(p.start, p.length);
    } else {
      s.seqs.SetRange(p.start, p.length, info);
    }
  }
}

uint16_t PartitionDetector::ErrorIndex(const std::string& error) {
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (errors_[i] == error) return static_cast<uint16_t>(i);
  }
  if (errors_.size() >= UINT16_MAX) return 0;  // error names are a bounded set in practice
  errors_.push_back(error);
  return static_cast<uint16_t>(errors_.size() - 1);
}

// ---------------------------------------------------------------- reads

ReadResult PartitionDetector::OnRecord(int64_t offset, uint64_t run_id, int64_t seq) {
  ReadResult result;
  if (awaiting_seek_ || position_ < 0 || offset < floor_) {
    result.ignored = true;
    return result;
  }
  const RecordRef x = RecordRef::Record(run_id, seq);
  const std::optional<RecordRef> before = reads_.Get(offset);
  bool counted = false;
  if (before && *before == x) {
    ++counts_.redelivered;
  } else {
    reads_.Set(offset, x);
    if (before && before->kind == RecordRef::Kind::kRecord) {
      ++counts_.offset_inconsistencies;
      counted = true;
      LocationRemoved(*before, offset);
    }
  }
  ApplyRead(x, offset, /*again=*/before && *before == x, result);
  position_ = std::max(position_, offset + 1);
  SettleAckAt(offset, x, counted);
  if (!awaiting_seek_) AfterAdvance(offset);
  return result;
}

void PartitionDetector::OnInvalid(int64_t offset, const std::string& reason) {
  if (awaiting_seek_ || position_ < 0 || offset < floor_) return;
  const RecordRef x = RecordRef::Invalid();
  const std::optional<RecordRef> before = reads_.Get(offset);
  bool counted = false;
  if (!(before && *before == x)) {
    reads_.Set(offset, x);
    ++counts_.invalid[reason];
    if (before && before->kind == RecordRef::Kind::kRecord) {
      ++counts_.offset_inconsistencies;
      counted = true;
      LocationRemoved(*before, offset);
    }
  }
  position_ = std::max(position_, offset + 1);
  SettleAckAt(offset, x, counted);
  if (!awaiting_seek_) AfterAdvance(offset);
}

void PartitionDetector::ApplyRead(const RecordRef& x, int64_t offset, bool again,
                                  ReadResult& result) {
  Stream& s = GetStream(x.run_id);
  if (s.own && x.seq > s.produced_through) {
    // Our own run, a sequence we never handed to the producer.
    if (!again) ++counts_.unexpected;
    return;
  }
  if (!again) {
    SeqInfo info = InfoOf(s, x.seq);
    if (!info.received()) {
      info.flags |= SeqInfo::kReceived;
      ++counts_.received;
      result.first_read = true;
      if (x.seq < s.pass_max_seq) {
        info.flags |= SeqInfo::kReordered;
        ++counts_.reordered;
      }
      if (info.verdict == Verdict::kNone && info.delivery == Delivery::kPossibly) {
        info.verdict = Verdict::kRecovered;
        ++counts_.recovered;
      } else if (info.verdict == Verdict::kNone && info.delivery == Delivery::kNotPersisted) {
        info.verdict = Verdict::kFailedButVisible;
        ++counts_.failed_but_visible;
      }
    } else if (!(info.flags & SeqInfo::kDuplicated) && HasLocation(x.run_id, x.seq, offset)) {
      info.flags |= SeqInfo::kDuplicated;
      ++counts_.duplicated;
    }
    PutInfo(s, x.seq, info);
  }
  s.pass_max_seq = std::max(s.pass_max_seq, x.seq);
  Passed(s, x.seq);
}

bool PartitionDetector::HasLocation(uint64_t run_id, int64_t seq, int64_t except_offset) const {
  bool found = false;
  reads_.ForEachRun([&](const IntervalMap<RecordRef>::Run& run) {
    if (found || run.first.kind != RecordRef::Kind::kRecord || run.first.run_id != run_id) return;
    if (seq < run.first.seq || seq >= run.first.seq + run.length) return;
    found = run.start + (seq - run.first.seq) != except_offset;
  });
  return found;
}

// The record `old` was read at `offset`, and the log now holds something else
// there. If that was the offset its ack named and it is nowhere else, the
// committed record is gone.
void PartitionDetector::LocationRemoved(const RecordRef& old, int64_t offset) {
  LocationsRemoved(IntervalMap<RecordRef>::Run{offset, 1, old});
}

// The same for a run of records read at consecutive offsets (a truncation
// takes many at once): one pass over the sequences and one over the reads
// per run, not per record.
void PartitionDetector::LocationsRemoved(const IntervalMap<RecordRef>::Run& gone) {
  if (gone.first.kind != RecordRef::Kind::kRecord) return;
  const uint64_t run_id = gone.first.run_id;
  Stream* s = FindStream(run_id);
  if (s == nullptr) return;
  // Sequence q was read at offset q + shift; those acked at that very offset.
  const int64_t shift = gone.start - gone.first.seq;
  std::vector<std::pair<int64_t, int64_t>> acked_here;  // [first seq, end seq)
  s->seqs.ForEach(
      gone.first.seq, gone.first.seq + gone.length, [&](const IntervalMap<SeqInfo>::Run& r) {
        if (r.first.delivery == Delivery::kPersisted && r.first.ack_offset == r.start + shift) {
          acked_here.emplace_back(r.start, r.end());
        }
      });
  if (acked_here.empty()) return;
  // Where the same sequences are still read (a duplicate at another offset).
  std::vector<std::pair<int64_t, int64_t>> elsewhere;
  reads_.ForEachRun([&](const IntervalMap<RecordRef>::Run& r) {
    if (r.first.kind != RecordRef::Kind::kRecord || r.first.run_id != run_id) return;
    elsewhere.emplace_back(r.first.seq, r.first.seq + r.length);
  });
  std::sort(elsewhere.begin(), elsewhere.end());
  for (auto [lo, hi] : acked_here) {
    int64_t cursor = lo;
    for (const auto& [elo, ehi] : elsewhere) {
      if (ehi <= cursor) continue;
      if (elo >= hi) break;
      if (elo > cursor) SetVerdict(run_id, cursor, elo - cursor, Verdict::kLost);
      cursor = std::max(cursor, ehi);
    }
    if (cursor < hi) SetVerdict(run_id, cursor, hi - cursor, Verdict::kLost);
  }
}

// Settles what acks say about `offset` against what the log holds there now.
void PartitionDetector::SettleAckAt(int64_t offset, const std::optional<RecordRef>& now,
                                    bool counted) {
  auto [lo, hi] = pending_.equal_range(offset);
  std::vector<RecordRef> checks;
  for (auto it = lo; it != hi; ++it) checks.push_back(it->second);
  pending_.erase(lo, hi);
  for (const RecordRef& acked : checks) {
    if (now && *now == acked) {
      SetVerdict(acked.run_id, acked.seq, 1, Verdict::kVerified);
    } else {
      JudgeNotAt(acked, now, counted);
      counted = counted || now.has_value();
    }
  }
  if (std::optional<AckRef> ack = acks_.Get(offset)) {
    acks_.Erase(offset);
    const RecordRef& acked = ack->record;
    if (now && *now == acked) {
      SetVerdict(acked.run_id, acked.seq, 1, Verdict::kVerified);
    } else if (ack->epoch < epoch_) {
      // The read was fetched after a seek made once this ack was known: the
      // log no longer holds the acked record here.
      JudgeNotAt(acked, now, counted);
    } else {
      // The read may predate the write the ack reports. Re-read and decide
      // from what the log holds then.
      AddPending(offset, acked);
      RequestRewind(offset);
    }
  }
}

// After a re-read, `acked` is not at the offset its ack named.
void PartitionDetector::JudgeNotAt(const RecordRef& acked, const std::optional<RecordRef>& now,
                                   bool counted) {
  if (!counted && now) ++counts_.offset_inconsistencies;
  if (acked.kind != RecordRef::Kind::kRecord) return;
  const bool elsewhere = HasLocation(acked.run_id, acked.seq, -1);
  SetVerdict(acked.run_id, acked.seq, 1, elsewhere ? Verdict::kVerified : Verdict::kLost);
}

// The consumer delivered `offset`; acked offsets below it that it never
// delivered are holes in the log, and pending checks there are settled by the
// re-read having passed them.
void PartitionDetector::AfterAdvance(int64_t offset) {
  while (!acks_.empty() && acks_.min_key() < offset) {
    const auto run = *acks_.RunAt(acks_.min_key());
    const int64_t end = std::min(run.end(), offset);
    acks_.EraseRange(run.start, end - run.start);
    for (int64_t k = run.start; k < end; ++k) {
      if (run.first.epoch < epoch_) {
        JudgeNotAt(run.At(k).record, std::nullopt, false);
      } else {
        AddPending(k, run.At(k).record);
      }
    }
    if (run.first.epoch >= epoch_) RequestRewind(run.start);
  }
  if (awaiting_seek_) return;
  while (!pending_.empty() && pending_.begin()->first < offset) {
    const int64_t k = pending_.begin()->first;
    if (std::optional<RecordRef> old = reads_.Get(k);
        old && old->kind == RecordRef::Kind::kRecord) {
      reads_.Erase(k);
      LocationRemoved(*old, k);
    }
    SettleAckAt(k, std::nullopt, /*counted=*/false);
  }
}

void PartitionDetector::AddPending(int64_t offset, const RecordRef& acked) {
  pending_.emplace(offset, acked);
}

void PartitionDetector::RequestRewind(int64_t offset) { RewindTo(offset - options_.rewind_margin); }

// Starts a new read pass at `offset` (not below the history's floor), or
// moves a pass not begun yet down to it.
void PartitionDetector::RewindTo(int64_t offset) {
  const int64_t target = std::max(floor_, offset);
  if (!awaiting_seek_) {
    ++epoch_;
    awaiting_seek_ = true;
    position_ = target;
  } else {
    position_ = std::min(position_, target);
  }
  RecomputePassMax();
}

void PartitionDetector::RecomputePassMax() {
  for (auto& [run_id, s] : streams_) s.pass_max_seq = -1;
  reads_.ForEach(floor_, position_, [&](const IntervalMap<RecordRef>::Run& run) {
    if (run.first.kind != RecordRef::Kind::kRecord) return;
    Stream& s = GetStream(run.first.run_id);
    s.pass_max_seq = std::max(s.pass_max_seq, run.first.seq + run.length - 1);
  });
}

// ---------------------------------------------------------------- outcomes

void PartitionDetector::OnOutcome(uint64_t run_id, int64_t first_seq, int64_t count,
                                  const DeliveryOutcome& outcome) {
  if (count <= 0 || first_seq < 0) return;
  Stream& s = GetStream(run_id);
  if (outcome.status == Delivery::kPersisted) {
    ApplyPersisted(s, run_id, first_seq, count, outcome.offset);
  } else if (IsFailure(outcome.status)) {
    ApplyFailure(s, first_seq, count, outcome);
  }
}

void PartitionDetector::ApplyPersisted(Stream& s, uint64_t run_id, int64_t first, int64_t count,
                                       int64_t offset) {
  struct Fresh {
    int64_t seq;
    int64_t length;
    bool received;
  };
  std::vector<Fresh> fresh;
  // A definitive ack wins over an unknown outcome and over a failure that has
  // not been settled (a restart marks in-doubt records possibly persisted).
  UpdateRange(s, first, count, [&](SeqInfo& v, int64_t start, int64_t length) {
    const bool open_failure = IsFailure(v.delivery) && v.verdict == Verdict::kNone;
    if (v.delivery != Delivery::kUnknown && !open_failure) return;
    v.delivery = Delivery::kPersisted;
    v.error = 0;
    v.fence = -1;
    v.ack_offset = offset < 0 ? -1 : offset + (start - first);
    fresh.push_back({start, length, v.received()});
  });
  const int64_t pos = position_;
  for (const Fresh& f : fresh) {
    if (offset < 0) {
      // DUPLICATE_SEQUENCE_NUMBER: committed, but the broker named no offset.
      if (f.received) SetVerdict(run_id, f.seq, f.length, Verdict::kVerified);
      continue;
    }
    const int64_t lo = offset + (f.seq - first);
    const int64_t hi = lo + f.length;
    auto seq_at = [&](int64_t o) { return f.seq + (o - lo); };
    if (lo < floor_) {
      const int64_t e = std::min(hi, floor_);
      SetVerdict(run_id, f.seq, e - lo, Verdict::kUnjudged);
    }
    const int64_t judge_lo = std::max(lo, floor_);
    const int64_t judge_hi = std::min(hi, pos);
    if (judge_lo < judge_hi) {
      // Already read past these offsets: compare with what was read there.
      struct Segment {
        int64_t start;
        int64_t length;
        std::optional<RecordRef> read;
      };
      std::vector<Segment> segments;
      int64_t cursor = judge_lo;
      reads_.ForEach(judge_lo, judge_hi, [&](const IntervalMap<RecordRef>::Run& r) {
        if (r.start > cursor) segments.push_back({cursor, r.start - cursor, std::nullopt});
        segments.push_back({r.start, r.length, r.first});
        cursor = r.end();
      });
      if (cursor < judge_hi) segments.push_back({cursor, judge_hi - cursor, std::nullopt});
      for (const Segment& seg : segments) {
        const int64_t seq = seq_at(seg.start);
        if (seg.read && seg.read->kind == RecordRef::Kind::kExpired) {
          Stream& st = GetStream(run_id);
          int64_t passed = -1;
          UpdateRange(st, seq, seg.length, [&](SeqInfo& v, int64_t start, int64_t length) {
            if (v.verdict != Verdict::kNone) return;
            v.verdict = v.received() ? Verdict::kVerified : Verdict::kExpired;
            CountVerdict(v, v.verdict, length);
            passed = std::max(passed, start + length - 1);
          });
          Passed(st, passed);
        } else if (seg.read && *seg.read == RecordRef::Record(run_id, seq)) {
          SetVerdict(run_id, seq, seg.length, Verdict::kVerified);
        } else {
          for (int64_t k = seg.start; k < seg.start + seg.length; ++k) {
            AddPending(k, RecordRef::Record(run_id, seq_at(k)));
          }
          RequestRewind(seg.start);
        }
      }
    }
    const int64_t ahead_lo = std::max({lo, pos, floor_});
    if (ahead_lo < hi) {
      // Not read yet. Another ack already claiming one of these offsets is
      // kept as a pending check: the read will show which one the log holds.
      acks_.ForEach(ahead_lo, hi, [&](const IntervalMap<AckRef>::Run& r) {
        for (int64_t k = r.start; k < r.end(); ++k) {
          const RecordRef other = r.At(k).record;
          if (!(other == RecordRef::Record(run_id, seq_at(k)))) pending_.emplace(k, other);
        }
      });
      acks_.SetRange(ahead_lo, hi - ahead_lo,
                     AckRef{RecordRef::Record(run_id, seq_at(ahead_lo)), epoch_});
    }
  }
}

void PartitionDetector::ApplyFailure(Stream& s, int64_t first, int64_t count,
                                     const DeliveryOutcome& outcome) {
  const uint16_t error = ErrorIndex(outcome.error);
  const int64_t fence = std::max(outcome.fence, first + count - 1);
  UpdateRange(s, first, count, [&](SeqInfo& v, int64_t, int64_t length) {
    if (v.delivery != Delivery::kUnknown) return;  // the first outcome stands
    v.delivery = outcome.status;
    v.error = error;
    v.fence = fence;
    v.ack_offset = -1;
    if (v.verdict != Verdict::kNone) return;
    if (v.received()) {
      v.verdict =
          v.delivery == Delivery::kPossibly ? Verdict::kRecovered : Verdict::kFailedButVisible;
      CountVerdict(v, v.verdict, length);
    } else {
      s.min_open_fence = std::min(s.min_open_fence, fence);
    }
  });
  if (s.max_seq_passed > s.min_open_fence) SettleFailures(s);
}

void PartitionDetector::SetVerdict(uint64_t run_id, int64_t seq, int64_t count, Verdict verdict) {
  Stream* s = FindStream(run_id);
  if (s == nullptr || count <= 0) return;
  int64_t passed = -1;
  UpdateRange(*s, seq, count, [&](SeqInfo& v, int64_t start, int64_t length) {
    if (!Allowed(v.verdict, verdict)) return;
    v.verdict = verdict;
    CountVerdict(v, verdict, length);
    if (verdict == Verdict::kVerified || verdict == Verdict::kLost ||
        verdict == Verdict::kExpired) {
      passed = std::max(passed, start + length - 1);
    }
  });
  Passed(*s, passed);
}

void PartitionDetector::CountVerdict(const SeqInfo& info, Verdict verdict, uint64_t n) {
  switch (verdict) {
    case Verdict::kLost:
      counts_.lost += n;
      break;
    case Verdict::kExpired:
      counts_.expired += n;
      break;
    case Verdict::kRecovered:
      counts_.recovered += n;
      break;
    case Verdict::kFailedButVisible:
      counts_.failed_but_visible += n;
      break;
    case Verdict::kNotCommitted:
      counts_.not_committed[errors_[info.error]] += n;
      break;
    case Verdict::kIndeterminate:
      counts_.indeterminate[errors_[info.error]] += n;
      break;
    case Verdict::kNone:
    case Verdict::kVerified:
    case Verdict::kUnjudged:
      break;
  }
}

// `seq` of this run has been read or judged. A failure reported before it was
// sent can no longer land: settle those.
void PartitionDetector::Passed(Stream& s, int64_t seq) {
  if (seq <= s.max_seq_passed) return;
  s.max_seq_passed = seq;
  if (s.max_seq_passed > s.min_open_fence) SettleFailures(s);
}

void PartitionDetector::SettleFailures(Stream& s) {
  struct Piece {
    int64_t start;
    int64_t length;
  };
  std::vector<Piece> due;
  int64_t next_min = INT64_MAX;
  s.seqs.ForEachRun([&](const IntervalMap<SeqInfo>::Run& run) {
    const SeqInfo& v = run.first;
    if (!IsFailure(v.delivery) || v.verdict != Verdict::kNone) return;
    if (v.fence < s.max_seq_passed) {
      due.push_back({run.start, run.length});
    } else {
      next_min = std::min(next_min, v.fence);
    }
  });
  s.min_open_fence = next_min;
  for (const Piece& p : due) {
    UpdateRange(s, p.start, p.length, [&](SeqInfo& v, int64_t, int64_t length) {
      if (!IsFailure(v.delivery) || v.verdict != Verdict::kNone) return;
      v.verdict =
          v.delivery == Delivery::kPossibly ? Verdict::kIndeterminate : Verdict::kNotCommitted;
      CountVerdict(v, v.verdict, length);
    });
  }
}

// ---------------------------------------------------------------- positions

int64_t PartitionDetector::OnOffsetOutOfRange(int64_t log_start, int64_t log_end) {
  if (position_ < 0) StartAt(log_start);
  const int64_t p = position_;
  if (p < log_start) {
    // Retention (or DeleteRecords) removed [p, log_start) before it was read.
    std::vector<std::pair<int64_t, RecordRef>> due;
    for (auto it = pending_.lower_bound(p); it != pending_.end() && it->first < log_start;) {
      due.emplace_back(it->first, it->second);
      it = pending_.erase(it);
    }
    acks_.ForEach(p, log_start, [&](const IntervalMap<AckRef>::Run& r) {
      for (int64_t k = r.start; k < r.end(); ++k) due.emplace_back(k, r.At(k).record);
    });
    acks_.EraseRange(p, log_start - p);
    for (const auto& [offset, acked] : due) {
      Stream* s = FindStream(acked.run_id);
      if (s == nullptr) continue;
      const bool seen = InfoOf(*s, acked.seq).received();
      SetVerdict(acked.run_id, acked.seq, 1, seen ? Verdict::kVerified : Verdict::kExpired);
    }
    // Remember the hole, so acks that arrive later for it count as expired.
    int64_t cursor = p;
    std::vector<std::pair<int64_t, int64_t>> holes;
    reads_.ForEach(p, log_start, [&](const IntervalMap<RecordRef>::Run& r) {
      if (r.start > cursor) holes.emplace_back(cursor, r.start - cursor);
      cursor = r.end();
    });
    if (cursor < log_start) holes.emplace_back(cursor, log_start - cursor);
    for (const auto& [start, length] : holes) reads_.SetRange(start, length, RecordRef::Expired());
    position_ = log_start;
    awaiting_seek_ = true;
    return position_;
  }
  if (p > log_end) {
    // The log now ends below what was read: truncated. Re-read from a little
    // before its end; whatever is written there next is compared with what was
    // read before.
    RequestRewind(std::min(p, log_end));
    return position_;
  }
  awaiting_seek_ = true;  // a stale error: resume where we were
  return position_;
}

int64_t PartitionDetector::OnLogTruncated(int64_t divergence) {
  if (position_ < 0) return position_;
  const int64_t from = std::max(divergence, floor_);
  // Reads above the position too: a re-read asked for earlier (the new
  // leader's acks may come first) may have moved the position below them.
  // librdkafka hands the event over in order with the partition's records,
  // so every read held now was fetched before the divergence was found.
  const int64_t read_end = reads_.empty() ? position_ : std::max(position_, reads_.end_key());
  if (from >= read_end) {
    awaiting_seek_ = true;  // the consumer stopped the partition: resume here
    return position_;
  }
  // First take every truncated read out of the map, then judge them: a copy
  // that was truncated too is no place where the record still is.
  std::vector<IntervalMap<RecordRef>::Run> gone;
  reads_.ForEach(from, read_end, [&](const IntervalMap<RecordRef>::Run& r) {
    if (r.first.kind == RecordRef::Kind::kRecord) gone.push_back(r);
  });
  reads_.EraseRange(from, read_end - from);
  for (const IntervalMap<RecordRef>::Run& r : gone) {
    counts_.offset_inconsistencies += static_cast<uint64_t>(r.length);
    LocationsRemoved(r);
  }
  // Acks of offsets from `from` on were learned before this pass: the
  // re-read decides them (a different record there is their loss).
  RewindTo(from);
  return position_;
}

// ---------------------------------------------------------------- bounds

void PartitionDetector::Prune(int64_t log_start) {
  if (position_ < 0) return;
  int64_t keep = std::max(floor_, position_ - options_.read_window);
  if (log_start > keep && log_start <= position_) keep = log_start;
  if (reads_.run_count() > options_.max_runs) {
    size_t skip = reads_.run_count() - options_.max_runs;
    reads_.ForEachRun([&](const IntervalMap<RecordRef>::Run& r) {
      if (skip == 0) return;
      if (--skip == 0) keep = std::max(keep, std::min(r.end(), position_));
    });
  }
  if (keep > floor_) {
    // What is below the window can no longer be judged.
    std::vector<RecordRef> unjudged;
    acks_.ForEach(floor_, keep, [&](const IntervalMap<AckRef>::Run& r) {
      for (int64_t k = r.start; k < r.end(); ++k) unjudged.push_back(r.At(k).record);
    });
    if (!acks_.empty() && acks_.min_key() < keep) acks_.EraseBelow(keep);
    for (auto it = pending_.begin(); it != pending_.end() && it->first < keep;) {
      unjudged.push_back(it->second);
      it = pending_.erase(it);
    }
    for (const RecordRef& r : unjudged) SetVerdict(r.run_id, r.seq, 1, Verdict::kUnjudged);
    reads_.EraseBelow(keep);
    floor_ = keep;
  }
  // Forget runs that have left the window entirely.
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = it->second;
    if (s.seqs.run_count() > options_.max_runs) {
      size_t skip = s.seqs.run_count() - options_.max_runs;
      int64_t cut = 0;
      s.seqs.ForEachRun([&](const IntervalMap<SeqInfo>::Run& r) {
        if (skip > 0 && --skip == 0) cut = r.end();
      });
      s.seqs.EraseBelow(cut);
    }
    const uint64_t run_id = it->first;
    bool present = s.own;
    reads_.ForEachRun([&](const IntervalMap<RecordRef>::Run& r) {
      present = present || (r.first.kind == RecordRef::Kind::kRecord && r.first.run_id == run_id);
    });
    acks_.ForEachRun([&](const IntervalMap<AckRef>::Run& r) {
      present = present || r.first.record.run_id == run_id;
    });
    for (const auto& [k, p] : pending_) present = present || p.run_id == run_id;
    it = present ? std::next(it) : streams_.erase(it);
  }
}

int64_t PartitionDetector::Unseen() const {
  int64_t unseen = 0;
  for (const auto& [run_id, s] : streams_) {
    s.seqs.ForEachRun([&](const IntervalMap<SeqInfo>::Run& r) {
      if (r.first.delivery == Delivery::kPersisted && r.first.verdict == Verdict::kNone &&
          !r.first.received()) {
        unseen += r.length;
      }
    });
  }
  return unseen;
}

}  // namespace kcanary
