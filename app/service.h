// Service: one kcanary process — state store, metrics, HTTP listener, and the
// canary and/or verifier of the chosen command — started and stopped in the
// order that keeps state consistent.
//
// Start order: store, detector state (verifier), exported totals, HTTP, the
// verifier, then the canary, whose thread first waits (bounded) until the
// verifier has stored its start offsets, so every record the canary writes
// lies at or above where the verifier starts. Stop order: the canary drains
// its in-flight records first, then the verifier stores its final state.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/audit/schedule.h"
#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/kafka/kafka_client.h"
#include "common/metrics/metrics.h"
#include "common/status.h"
#include "common/store/state_store.h"
#include "verifier/detector_hub.h"

namespace kcanary {

class Canary;
class Verifier;
class EmbeddedCluster;
class TopicManager;

/// What --listen-auth and --listen-tls-cert/--listen-tls-key ask of the HTTP
/// listener, read from their files now (nothing for --listen none). Errors
/// name the flag and the file, never a password. A bad file is a
/// configuration error: main() calls this before Service::Start and exits 2.
StatusOr<HttpSecurity> LoadListenerSecurity(const Config& config);

class Service {
 public:
  /// Starts every part; never waits for the cluster. Reads the listener's
  /// files with LoadListenerSecurity().
  static StatusOr<std::unique_ptr<Service>> Start(const Config& config);
  /// The same, with the listener's security already loaded.
  static StatusOr<std::unique_ptr<Service>> Start(const Config& config, HttpSecurity listener);
  ~Service();

  void Stop();

  int http_port() const { return http_.port(); }
  bool embedded() const { return cluster_ != nullptr; }
  /// The embedded mock cluster, for tests that inject faults (null otherwise).
  EmbeddedCluster* cluster() const { return cluster_.get(); }
  const std::string& bootstrap() const { return bootstrap_; }
  Metrics& metrics() { return *metrics_; }
  DetectorHub& hub() { return *hub_; }
  /// State loaded and the roles running: kcanary's own health. A Kafka
  /// outage shows in kcanary_kafka_up, not here (SPEC §4).
  bool ready() const { return started_.load(); }
  /// The verifier has chosen and stored its start offsets and is reading.
  bool consuming() const;
  std::string StatusJson();
  std::string IndexHtml();
  /// Copies detector totals and gauges into the exported metrics.
  void SyncMetrics();

 private:
  explicit Service(Config config);
  Status Init();
  nlohmann::json StatusObject();
  void Housekeeping();
  void ProbeCluster();
  /// Whether the canary had a record acked, or the verifier read one for the
  /// first time, within `window`: the cluster answered kcanary's clients then.
  bool ServedWithin(std::chrono::seconds window) const;
  audit::AuditOutcome AuditConfig();

  Config config_;
  std::string bootstrap_;
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<DetectorHub> hub_;
  std::unique_ptr<Verifier> verifier_;
  std::unique_ptr<Canary> canary_;
  std::unique_ptr<TopicManager> topic_manager_;  // with the canary, on a real cluster
  KafkaErrorRecorder admin_errors_;              // admin_'s last error (outlives it)
  KafkaHandle admin_;                            // probes, topic management, audit
  HttpSecurity listener_security_;               // until Init hands it to http_
  HttpServer http_;
  std::atomic<bool> stop_canary_{false};
  std::atomic<bool> stop_verifier_{false};
  std::atomic<bool> stop_housekeeping_{false};
  std::atomic<bool> kafka_up_{false};
  std::thread canary_thread_;
  std::thread verifier_thread_;
  std::thread housekeeping_thread_;
  bool stopped_ = false;
  // Housekeeping thread only:
  std::map<std::string, bool> audit_verdicts_;  // "topic/check" -> passing
  std::set<int32_t> known_brokers_;             // every broker seen in the metadata
  int probe_failures_ = 0;                      // cluster probes failed in a row
  bool probed_ = false;                         // the first probe's result was logged
  std::atomic<bool> started_{false};
};

}  // namespace kcanary
