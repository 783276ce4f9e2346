// Metrics: kcanary's Prometheus probe.
//
// Business code reports what happened ("a message was acked", "the detector's
// lost total is now 3") by calling a method named after the event; only this
// class knows metric names, labels and types (SPEC §5). Every family is
// registered at construction, every series known in advance is exported at 0
// from the start (so alerts see a 0 rather than no data), and label children
// are cached so the hot paths never call prometheus-cpp's slow Family::Add.
//
//   Metrics metrics("__kcanary", "0.1.0", rd_kafka_version_str());
//   metrics.AddPartition(0);
//   metrics.MessageProduced(0);
//   metrics.MessageAcked(0, /*produce_latency_seconds=*/0.004, /*ack_unix_seconds=*/now);
//   metrics.SetClassTotal(Metrics::Class::kLost, 0, detector_totals.lost);
//   http.Handle("/metrics", [&] {
//     return HttpResponse{.content_type = Metrics::kContentType, .body = metrics.Serialize()};
//   });
//
// Thread safety: every method may be called concurrently from any thread (the
// canary, verifier and HTTP threads share one instance). No method throws;
// the constructor only on allocation failure.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace kcanary {

class Metrics {
 public:
  /// Detector classes exported as per-partition counters without an extra
  /// label (SPEC §2). The error- and reason-labelled classes have their own
  /// setters below.
  enum class Class {
    kReceived,             ///< kcanary_messages_received_total
    kLost,                 ///< kcanary_messages_lost_total
    kExpired,              ///< kcanary_messages_expired_total
    kRecovered,            ///< kcanary_messages_recovered_total
    kFailedButVisible,     ///< kcanary_messages_failed_but_visible_total
    kDuplicated,           ///< kcanary_messages_duplicated_total
    kRedelivered,          ///< kcanary_messages_redelivered_total
    kReordered,            ///< kcanary_messages_reordered_total
    kOffsetInconsistency,  ///< kcanary_offset_inconsistencies_total
    kUnexpected,           ///< kcanary_records_unexpected_total
  };
  static constexpr int kClassCount = 10;

  /// `reason` values of kcanary_records_invalid_total exported at 0 for every
  /// partition. Other reasons are accepted and appear on first use.
  static constexpr std::array<std::string_view, 6> kInvalidReasons = {
      "too_short",    "bad_magic",   "unknown_version",
      "bad_checksum", "undecodable", "partition_mismatch"};

  /// Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
  static constexpr std::array<double, 15> kLatencyBucketsSeconds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60};

  /// Content-Type of Serialize()'s output.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  /// `topic` labels every per-topic and per-partition series; `version` and
  /// `librdkafka_version` label kcanary_build_info.
  Metrics(std::string topic, std::string version, std::string librdkafka_version);
  ~Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Creates every per-partition series at 0 (counters, unseen, consumer lag,
  /// invalid records for each of kInvalidReasons). Idempotent. The methods
  /// below that take a partition add it implicitly, so this only decides
  /// *when* its zeros appear: call it as soon as the partition is known.
  void AddPartition(int32_t partition);

  // --- canary -------------------------------------------------------------

  /// `count` records are being handed to the producer.
  void MessageProduced(int32_t partition, uint64_t count = 1);
  /// A record was acknowledged as persisted. `produce_latency_seconds` is send
  /// → ack; `ack_unix_seconds` the wall-clock time of the ack, exported as
  /// kcanary_last_acked_timestamp_seconds (which never moves backwards).
  void MessageAcked(int32_t partition, double produce_latency_seconds, double ack_unix_seconds);
  /// One acknowledged record: its partition and send → ack seconds (NaN if
  /// unknown: counted, not observed).
  struct Ack {
    int32_t partition;
    double produce_latency_seconds;
  };
  /// MessageAcked for each of a batch of acks that arrived by
  /// `ack_unix_seconds`, taking each lock once: the canary's per-record path.
  void MessagesAcked(std::span<const Ack> acks, double ack_unix_seconds);

  // --- verifier -----------------------------------------------------------

  /// A record was read for the first time. `end_to_end_latency_seconds` is
  /// send → first read (negative values, from clock skew between hosts, count
  /// as 0); `receive_unix_seconds` feeds kcanary_last_received_timestamp_seconds.
  /// The received counter itself comes from the detector via SetClassTotal.
  void FirstRead(double end_to_end_latency_seconds, double receive_unix_seconds);
  /// FirstRead for each (end_to_end_latency_seconds, receive_unix_seconds)
  /// of a batch, taking each lock once: the verifier's per-record path.
  void FirstReads(std::span<const std::pair<double, double>> reads);

  // --- detector totals ----------------------------------------------------
  //
  // The detector owns cumulative totals and persists them across restarts;
  // these setters make the counter equal `total` by adding the difference. A
  // total below the exported value is ignored, so the counter never goes down.
  // After a restart, set the restored totals before the HTTP listener starts:
  // a scrape that sees 0 and then the restored total makes increase() count
  // the whole history again, and loss alerts would fire.

  void SetClassTotal(Class c, int32_t partition, uint64_t total);
  /// kcanary_messages_not_committed_total{error}. `error` is a librdkafka error
  /// name (rd_kafka_err2name, a bounded set); its series appears on first use.
  void SetNotCommittedTotal(int32_t partition, const std::string& error, uint64_t total);
  /// kcanary_messages_indeterminate_total{error}; `error` as above.
  void SetIndeterminateTotal(int32_t partition, const std::string& error, uint64_t total);
  /// kcanary_records_invalid_total{reason}; see kInvalidReasons.
  void SetInvalidTotal(int32_t partition, const std::string& reason, uint64_t total);

  // --- gauges -------------------------------------------------------------

  /// Committed records not yet read and not yet provably lost.
  void SetUnseen(int32_t partition, int64_t records);
  /// Records between the verifier's position and the log end.
  void SetConsumerLag(int32_t partition, int64_t records);
  /// Whether the Kafka cluster answers (exported as 1/0; 0 until first set).
  void SetKafkaUp(bool up);
  /// Brokers in the latest cluster metadata.
  void SetBrokers(int count);
  /// Whether `broker` leads at least one canary partition; the series for a
  /// broker appears on first use.
  void SetBrokerLeadsCanaryPartition(int32_t broker, bool leads);
  /// Size of the state store on disk.
  void SetStateBytes(uint64_t bytes);
  /// Unix time of the latest ack or first read, whichever is later (the
  /// kcanary_last_*_timestamp_seconds gauges; 0 before either).
  double LastKafkaActivitySeconds() const;
  /// One failed write to the state store (kcanary_state_write_failures_total).
  /// Not a gauge of "state broken": the store recovers on its own when space
  /// returns, and a counter lets an alert see failures between two scrapes.
  void StateWriteFailed();
  /// kcanary_state_write_failures_total's value (/status shows it).
  uint64_t StateWriteFailures() const;
  /// The TLS listener's totals since start (TlsFront's counters, copied on
  /// each scrape): kcanary_listener_tls_handshake_failures_total and
  /// kcanary_listener_rejected_connections_total. A lower total is ignored.
  void SetListenerTotals(uint64_t tls_handshake_failures, uint64_t rejected_connections);
  /// kcanary_config_check_passing{topic,check} (SPEC §5, §6): 1 if the
  /// durability check passes. Appears on first use, not at 0, because 0 would
  /// read as a failing check before the first audit ran.
  void SetConfigCheckPassing(const std::string& topic, const std::string& check, bool passing);

  /// Every series in the Prometheus text exposition format (version 0.0.4,
  /// kContentType). Returns an empty string only if serialization failed.
  std::string Serialize() const;

  /// The underlying registry, e.g. to register extra collectors or to inspect
  /// values in tests. Include <prometheus/registry.h> and link
  /// prometheus-cpp::core to use it.
  prometheus::Registry& registry();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kcanary
