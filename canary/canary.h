// Canary: writes sequence-numbered records to every partition of the canary
// topic and handles the delivery report of every one of them.
//
// Each record carries (run, partition, sequence, send time) and a summary of
// earlier outcomes on its partition. Before records are handed to librdkafka
// the next sequence is stored, so after a kill -9 the restarted canary knows
// which sequences were in doubt and marks them possibly persisted instead of
// pretending they never existed. Outcomes go to the store, to the records'
// summaries and, in `kcanary run`, straight to the detector.
//
// Threading: Run() owns the producer; delivery reports are served on that
// thread. handle() may be used concurrently for metadata requests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "canary/outcome_log.h"
#include "common/config/config.h"
#include "common/kafka/kafka_client.h"
#include "common/metrics/metrics.h"
#include "common/status.h"
#include "common/store/state_keys.h"
#include "common/store/state_store.h"
#include "common/store/write_failure_log.h"
#include "verifier/detector_hub.h"

namespace kcanary {

struct CanaryOptions {
  std::string topic;
  /// Keys in the state store live under "canary/<state_namespace>/" (default: the topic).
  std::string state_namespace;
  double rate = 10;  // records per second per partition
  int64_t message_size = 256;
  Properties producer_config;
  std::chrono::milliseconds metadata_refresh{30'000};
  // Per drain; a stop drains twice (traffic, then the closing records), so a
  // stop during an outage stays well inside Kubernetes' 30 s grace period.
  std::chrono::milliseconds drain_timeout{5'000};
  /// If set, every outcome is appended here after it is stored (see Config).
  std::string delivery_journal;
};

class Canary {
 public:
  /// Loads or starts the run; `sink` (may be null) receives every send and
  /// outcome. `store` and `metrics` must outlive the canary.
  static StatusOr<std::unique_ptr<Canary>> Create(const CanaryOptions& options, StateStore* store,
                                                  Metrics* metrics, DeliverySink* sink);
  ~Canary();

  /// Produces until `stop`, then flushes, settles what is still in flight and
  /// stores the final state.
  void Run(const std::atomic<bool>& stop);

  uint64_t run_id() const { return run_id_; }
  rd_kafka_t* handle() const { return producer_.get(); }
  bool ready() const { return ready_.load(); }

 private:
  struct Partition {
    int32_t id = 0;
    int64_t next_seq = 0;     // next sequence to hand to the producer
    int64_t stored_next = 0;  // next_seq as last written to the store
    OutcomeLog log;
    uint64_t produced = 0;
    uint64_t acked = 0;
    double budget = 0;  // records owed by the rate limiter
    bool dirty = false;
  };
  // A record's sequence travels to its delivery report as the message's
  // opaque pointer (offset by one, so sequence 0 is not null): nothing is
  // allocated per record.
  static void* SequenceToOpaque(int64_t seq) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(seq) + 1);
  }
  static std::optional<int64_t> SequenceFromOpaque(const void* opaque) {
    if (opaque == nullptr) return std::nullopt;
    return static_cast<int64_t>(reinterpret_cast<uintptr_t>(opaque) - 1);
  }

  Canary(CanaryOptions options, StateStore* store, Metrics* metrics, DeliverySink* sink);
  Status Init();
  Status CreateProducer();
  Status LoadState();
  void AddPartition(int32_t id);
  void RefreshPartitions();
  // Sends the records owed since the last round; `interval` is the round's.
  void Tick(std::chrono::steady_clock::time_point now, std::chrono::microseconds interval);
  // Stores the sequences about to be sent, then sends `due[partition]`
  // records on each; sends nothing when the store fails.
  bool SendStored(const std::map<int32_t, int64_t>& due);
  void Produce(Partition& p);
  void RecordOutcome(Partition& p, int64_t seq, const DeliveryOutcome& outcome);
  void OnDelivery(const rd_kafka_message_t* msg);
  // rd_kafka_poll, then the acks among the reports it served to the metrics.
  int PollReports(int timeout_ms);
  void FlushAcks();
  // The wall clock in microseconds for a record's produce time, read once
  // per kStampEvery records of a round.
  int64_t ProduceStamp();
  Status Persist();
  void Drain();
  void Journal(int32_t partition, int64_t first_seq, int64_t count, const DeliveryOutcome& o);
  static void DeliveryReport(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);

  CanaryOptions options_;
  StateKeys keys_;
  StateStore* store_;
  Metrics* metrics_;
  DeliverySink* sink_;
  uint64_t run_id_ = 0;
  KafkaHandle producer_;
  rd_kafka_topic_t* topic_ = nullptr;
  std::map<int32_t, Partition> partitions_;
  std::chrono::steady_clock::time_point last_tick_;
  std::chrono::steady_clock::time_point next_round_;  // see send_rounds.h
  std::chrono::steady_clock::time_point next_metadata_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_error_log_;
  // Reused for every record: Clear() keeps the summary entries' allocations,
  // so producing costs no protobuf allocation in the steady state.
  wire::CanaryRecord record_;
  std::string value_;  // the encoded record, reused
  // Acks served by the poll in progress: exported at once when it returns,
  // with one clock read and one lock for all of them.
  std::vector<Metrics::Ack> acks_;
  int64_t stamp_us_ = 0;  // ProduceStamp's last clock read
  int stamp_uses_ = 0;    // records stamped with it; 0: read again
  std::atomic<bool> ready_{false};
  int journal_fd_ = -1;
  std::string journal_pending_;  // lines for outcomes not stored yet
  WriteFailureLog store_failure_log_{"canary", "not producing"};
};

}  // namespace kcanary
