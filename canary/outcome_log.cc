#include "canary/outcome_log.h"

#include <algorithm>

namespace kcanary {

wire::DeliveryStatus ToWire(Delivery d) {
  switch (d) {
    case Delivery::kPersisted:
      return wire::PERSISTED;
    case Delivery::kNotPersisted:
      return wire::NOT_PERSISTED;
    case Delivery::kPossibly:
      return wire::POSSIBLY_PERSISTED;
    case Delivery::kUnknown:
      break;
  }
  return wire::DELIVERY_STATUS_UNKNOWN;
}

Delivery FromWire(wire::DeliveryStatus s) {
  switch (s) {
    case wire::PERSISTED:
      return Delivery::kPersisted;
    case wire::NOT_PERSISTED:
      return Delivery::kNotPersisted;
    case wire::POSSIBLY_PERSISTED:
      return Delivery::kPossibly;
    default:
      return Delivery::kUnknown;
  }
}

DeliveryOutcome OutcomeFromWire(const wire::Outcome& o) {
  DeliveryOutcome out;
  out.status = FromWire(o.status());
  out.offset = o.status() == wire::PERSISTED ? o.first_offset() : -1;
  out.error = o.error();
  out.fence = static_cast<int64_t>(o.fence_sequence());
  return out;
}

void OutcomeLog::Add(int64_t seq, int64_t count, const DeliveryOutcome& outcome) {
  if (count <= 0) return;
  resolved_end_ = std::max(resolved_end_, seq + count);
  const wire::DeliveryStatus status = ToWire(outcome.status);
  if (!entries_.empty()) {
    wire::Outcome& last = entries_.back();
    const bool contiguous = static_cast<int64_t>(last.first_sequence() + last.count()) == seq &&
                            last.status() == status && last.error() == outcome.error;
    const bool offsets_continue =
        status != wire::PERSISTED ||
        (outcome.offset < 0
             ? last.first_offset() < 0
             : last.first_offset() >= 0 &&
                   last.first_offset() + static_cast<int64_t>(last.count()) == outcome.offset);
    if (contiguous && offsets_continue) {
      last.set_count(last.count() + count);
      // Merged failures settle with the latest fence: later, never wrong.
      last.set_fence_sequence(std::max<uint64_t>(last.fence_sequence(), outcome.fence));
      return;
    }
  }
  wire::Outcome& e = entries_.emplace_back();
  e.set_first_sequence(seq);
  e.set_count(count);
  e.set_status(status);
  e.set_first_offset(status == wire::PERSISTED ? outcome.offset : -1);
  if (status != wire::PERSISTED) {
    e.set_error(outcome.error);
    e.set_fence_sequence(std::max<int64_t>(outcome.fence, seq + count - 1));
  }
  while (entries_.size() > max_entries_) entries_.pop_front();
}

void OutcomeLog::AppendSummary(wire::CanaryRecord* record, size_t max_bytes) const {
  size_t used = 0;
  size_t take = 0;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    const size_t size = it->ByteSizeLong() + 2;  // + tag and length
    if (take > 0 && used + size > max_bytes) break;
    used += size;
    ++take;
  }
  for (size_t i = entries_.size() - take; i < entries_.size(); ++i) {
    *record->add_outcomes() = entries_[i];
  }
}

void OutcomeLog::SaveTo(google::protobuf::RepeatedPtrField<wire::Outcome>* out) const {
  for (const wire::Outcome& e : entries_) *out->Add() = e;
}

void OutcomeLog::LoadFrom(const google::protobuf::RepeatedPtrField<wire::Outcome>& in) {
  entries_.assign(in.begin(), in.end());
  while (entries_.size() > max_entries_) entries_.pop_front();
  resolved_end_ = 0;
  for (const wire::Outcome& e : entries_) {
    resolved_end_ = std::max<int64_t>(resolved_end_, e.first_sequence() + e.count());
  }
}

}  // namespace kcanary
