#include "bench/inprocess/simulated_log.h"

#include <chrono>
#include <cstdlib>

#include "proto/record_codec.h"

namespace kcanary::bench {
namespace {

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DeliveryOutcome PersistedAt(int64_t offset) {
  DeliveryOutcome o;
  o.status = Delivery::kPersisted;
  o.offset = offset;
  return o;
}

}  // namespace

SimulatedPartition::SimulatedPartition(int32_t partition, uint64_t run_id, size_t message_size,
                                       size_t ring)
    : partition_(partition), run_id_(run_id), message_size_(message_size), ring_(ring) {
  // Slots keep their capacity: steady-state appends do not allocate.
  for (std::string& slot : ring_) slot.reserve(message_size_);
}

std::string SimulatedPartition::Encode(int64_t seq) {
  // As Canary::Produce does: the summary gets what is left of the record.
  wire::CanaryRecord record;
  record.set_run_id(run_id_);
  record.set_partition(partition_);
  record.set_sequence(static_cast<uint64_t>(seq));
  record.set_produce_time_us(WallMicros());
  const size_t budget = message_size_ > 64 ? message_size_ - 48 : 16;
  outcomes_.AppendSummary(&record, budget);
  return EncodeRecord(record, message_size_);
}

void SimulatedPartition::Put(const std::string& value) {
  ring_[static_cast<size_t>(end_) % ring_.size()].assign(value);
  ++end_;
}

int64_t SimulatedPartition::Append(Anomaly anomaly) {
  const int64_t seq = next_seq_++;
  // The ack of each sequence reaches the canary before the next one is sent
  // (true at canary rates): every record carries the outcomes of all earlier
  // sequences its summary has room for.
  const std::string value = Encode(seq);
  const int64_t offset = end_;
  switch (anomaly) {
    case Anomaly::kNone:
      Put(value);
      outcomes_.Add(seq, 1, PersistedAt(offset));
      return offset;
    case Anomaly::kLoss:
      // Acked at `offset`, then truncated away: the next sequence takes the
      // offset, and its summary is the proof.
      outcomes_.Add(seq, 1, PersistedAt(offset));
      return offset;
    case Anomaly::kDuplicate:
      Put(value);
      Put(value);
      outcomes_.Add(seq, 1, PersistedAt(offset + 1));
      return offset + 1;
  }
  std::abort();
}

bool SimulatedPartition::Readable(int64_t offset) const {
  return offset >= 0 && offset < end_ && end_ - offset <= static_cast<int64_t>(ring_.size());
}

std::string_view SimulatedPartition::At(int64_t offset) const {
  if (!Readable(offset)) std::abort();  // the ring is sized for the rewind margin
  return ring_[static_cast<size_t>(offset) % ring_.size()];
}

}  // namespace kcanary::bench
