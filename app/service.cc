#include "app/service.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "app/audit_facts.h"
#include "app/embedded_cluster.h"
#include "canary/canary.h"
#include "canary/topic_manager.h"
#include "common/audit/checks.h"
#include "common/config/file_reader.h"
#include "common/kafka/kafka_client.h"
#include "common/store/state_keys.h"
#include "verifier/verifier.h"

namespace kcanary {
namespace {

// The longest Kafka call the housekeeping thread makes (cluster probe,
// durability audit). A stop joins that thread, so this is also how long a
// stop may wait for it: librdkafka 2.8.0 answers a DescribeConfigs it cannot
// route (no controller known, e.g. on its mock cluster) only at the timeout.
constexpr int kHousekeepingCallMs = 2000;

// Named as `top -H` and /proc/PID/task/*/comm show them, next to
// librdkafka's rdk:* threads (at most 15 characters).
void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

nlohmann::json CountsJson(const ClassCounts& c, int64_t unseen) {
  return {{"received", c.received},
          {"lost", c.lost},
          {"expired", c.expired},
          {"not_committed", c.not_committed},
          {"indeterminate", c.indeterminate},
          {"recovered", c.recovered},
          {"failed_but_visible", c.failed_but_visible},
          {"duplicated", c.duplicated},
          {"redelivered", c.redelivered},
          {"reordered", c.reordered},
          {"unseen", unseen},
          {"offset_inconsistencies", c.offset_inconsistencies},
          {"invalid", c.invalid},
          {"unexpected", c.unexpected}};
}

Status ForgetState(StateStore* store, const std::string& state_namespace) {
  WriteBatch batch;
  for (const char* role : {"canary", "verifier"}) {
    StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
        store->ScanPrefix(StateKeys(role, state_namespace).Prefix());
    if (!rows.ok()) return rows.status();
    for (const auto& [key, value] : *rows) batch.Delete(key);
  }
  return batch.empty() ? Status::Ok() : store->Write(batch);
}

// Cluster probes, topic management and the periodic audit use a client of
// their own, configured like the role's (security settings included): the
// canary replaces its producer after a fatal error, so its handle cannot be
// shared across threads safely.
// Its errors (refused connections, failed authentication) go to `errors`.
StatusOr<KafkaHandle> CreateAdminClient(const Config& effective, bool producer_side,
                                        KafkaErrorRecorder* errors) {
  Properties props = producer_side ? effective.ProducerConfig() : effective.ConsumerConfig();
  props["client.id"] = "kcanary-admin";
  if (producer_side) props["enable.idempotence"] = "false";  // it never produces
  StatusOr<rd_kafka_conf_t*> conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  errors->Attach(*conf);
  return CreateKafkaClient(producer_side ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, *conf);
}

}  // namespace

StatusOr<HttpSecurity> LoadListenerSecurity(const Config& config) {
  HttpSecurity security;
  if (config.listen == "none") return security;
  if (!config.listen_auth.empty()) {
    StatusOr<std::string> text = ReadFileToString(config.listen_auth);
    if (!text.ok()) return Status::IoError("--listen-auth: " + text.status().message());
    StatusOr<BasicAuthUsers> users = ParseBasicAuthUsers(*text, config.listen_auth);
    if (!users.ok()) return Status::InvalidArgument("--listen-auth " + users.status().message());
    security.users = std::move(*users);
    // Probes (kubelet, load balancers) get no credentials, and these two
    // answer "ok" / "ready" and nothing else.
    security.open_paths = {"/healthz", "/readyz"};
  }
  if (!config.listen_tls_cert.empty() || !config.listen_tls_key.empty()) {
    StatusOr<std::shared_ptr<const TlsServerContext>> tls = TlsServerContext::Load(
        config.listen_tls_cert, config.listen_tls_key, "--listen-tls-cert", "--listen-tls-key");
    if (!tls.ok()) return tls.status();
    security.tls = std::move(*tls);
  }
  return security;
}

Service::Service(Config config) : config_(std::move(config)) {}

Service::~Service() { Stop(); }

StatusOr<std::unique_ptr<Service>> Service::Start(const Config& config) {
  StatusOr<HttpSecurity> listener = LoadListenerSecurity(config);
  if (!listener.ok()) return listener.status();
  return Start(config, std::move(*listener));
}

StatusOr<std::unique_ptr<Service>> Service::Start(const Config& config, HttpSecurity listener) {
  std::unique_ptr<Service> service(new Service(config));
  service->listener_security_ = std::move(listener);
  if (Status s = service->Init(); !s.ok()) {
    service->Stop();
    return s;
  }
  return service;
}

Status Service::Init() {
  const bool run_canary = config_.command != Command::kVerify;
  const bool run_verifier = config_.command != Command::kCanary;

  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(config_.state_dir, {});
  if (!store.ok()) return store.status();
  store_ = std::move(*store);

  metrics_ = std::make_unique<Metrics>(config_.topic, KCANARY_VERSION, rd_kafka_version_str());
  hub_ = std::make_unique<DetectorHub>(DetectorOptions{});

  bootstrap_ = config_.brokers;
  if (bootstrap_.empty()) {
    StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
        EmbeddedCluster::Start(3, config_.topic, config_.embedded_partitions);
    if (!cluster.ok()) return cluster.status();
    cluster_ = std::move(*cluster);
    bootstrap_ = cluster_->bootstrap();
    spdlog::warn(
        "no --brokers given: monitoring an embedded mock Kafka cluster (3 brokers, {} partitions "
        "at {}). It shows the pipeline; it cannot lose committed data. Use -b to watch a real "
        "cluster.",
        config_.embedded_partitions, bootstrap_);
  }
  Config effective = config_;
  effective.brokers = bootstrap_;
  // The embedded cluster starts empty on every start, so state kept for the
  // previous one would describe records that no longer exist.
  const std::string state_namespace = cluster_ ? "embedded/" + config_.topic : config_.topic;
  if (cluster_) {
    if (Status s = ForgetState(store_.get(), state_namespace); !s.ok()) return s;
  }
  StatusOr<KafkaHandle> admin = CreateAdminClient(effective, run_canary, &admin_errors_);
  if (!admin.ok()) return admin.status();
  admin_ = std::move(*admin);

  if (run_verifier) {
    VerifierOptions options;
    options.topic = config_.topic;
    options.state_namespace = state_namespace;
    options.consumer_config = effective.ConsumerConfig();
    spdlog::debug("verifier config:\n{}", RedactedDump(options.consumer_config));
    StatusOr<std::unique_ptr<Verifier>> verifier =
        Verifier::Create(options, store_.get(), metrics_.get(), hub_.get());
    if (!verifier.ok()) return verifier.status();
    verifier_ = std::move(*verifier);
  }
  // Restored totals are exported before anyone can scrape: a scrape that saw
  // 0 and then the restored value would count the whole history again.
  SyncMetrics();

  http_.Handle("/metrics", [this] {
    SyncMetrics();
    return HttpResponse{200, Metrics::kContentType, metrics_->Serialize()};
  });
  http_.Handle("/healthz", [] { return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"}; });
  http_.Handle("/readyz", [this] {
    return ready() ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n"}
                   : HttpResponse{503, "text/plain; charset=utf-8", "not ready\n"};
  });
  http_.Handle("/status", [this] { return HttpResponse{200, "application/json", StatusJson()}; });
  http_.Handle("/", [this] { return HttpResponse{200, "text/html; charset=utf-8", IndexHtml()}; });
  if (config_.listen != "none") {
    const size_t users = listener_security_.users.size();
    const std::shared_ptr<const TlsServerContext> tls = listener_security_.tls;
    if (Status s = http_.Start(config_.listen, std::move(listener_security_)); !s.ok()) return s;
    const std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
    std::string notes;
    if (tls != nullptr) notes = "TLS: " + tls->summary();
    if (users != 0) {
      notes += fmt::format("{}basic auth: {} user(s)", notes.empty() ? "" : "; ", users);
    }
    spdlog::info("serving /metrics, /healthz, /readyz, /status on {}://{}:{}{}",
                 tls != nullptr ? "https" : "http", host, http_.port(),
                 notes.empty() ? "" : " (" + notes + ")");
    if (tls != nullptr && tls->outside_validity()) {
      spdlog::warn("the listener's TLS certificate is not valid now ({}): clients will refuse it",
                   tls->summary());
    }
  }

  if (verifier_) {
    verifier_thread_ = std::thread([this] {
      NameThisThread("kc:verifier");
      verifier_->Run(stop_verifier_);
    });
  }
  if (run_canary) {
    CanaryOptions options;
    options.topic = config_.topic;
    options.state_namespace = state_namespace;
    options.rate = config_.rate;
    options.message_size = config_.message_size;
    options.delivery_journal = config_.delivery_journal;
    options.producer_config = effective.ProducerConfig();
    spdlog::debug("canary config:\n{}", RedactedDump(options.producer_config));
    StatusOr<std::unique_ptr<Canary>> canary =
        Canary::Create(options, store_.get(), metrics_.get(), verifier_ ? hub_.get() : nullptr);
    if (!canary.ok()) return canary.status();
    canary_ = std::move(*canary);
    if (!embedded()) {
      topic_manager_ = std::make_unique<TopicManager>(config_.topic, config_.manage_topic);
    }
    canary_thread_ = std::thread([this] {
      NameThisThread("kc:canary");
      // Let the verifier choose (and store) its start offsets before the
      // canary writes, so the first canary records are judged too. A cluster
      // that does not answer does not hold the canary back for long.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (verifier_ && !verifier_->ready() && !stop_canary_.load() &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      canary_->Run(stop_canary_);
    });
  }
  housekeeping_thread_ = std::thread([this] {
    NameThisThread("kc:housekeeping");
    Housekeeping();
  });
  started_ = true;
  return Status::Ok();
}

void Service::Stop() {
  if (stopped_) return;
  stopped_ = true;
  started_ = false;
  stop_canary_ = true;
  stop_housekeeping_ = true;
  // CivetWeb takes a moment to stop: overlap it with the drain.
  std::thread http_stopper([this] { http_.Stop(); });
  if (canary_thread_.joinable()) canary_thread_.join();
  // Let the verifier read what the canary flushed last.
  if (verifier_thread_.joinable() && canary_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  stop_verifier_ = true;
  if (verifier_thread_.joinable()) verifier_thread_.join();
  // The canary's last outcomes reached the detector after the verifier's
  // last batch: store them too.
  if (verifier_) verifier_->StoreAll();
  if (housekeeping_thread_.joinable()) housekeeping_thread_.join();
  http_stopper.join();
  if (metrics_) SyncMetrics();
  canary_.reset();
  verifier_.reset();
  topic_manager_.reset();
  admin_.reset();
  cluster_.reset();
  store_.reset();
}

bool Service::consuming() const { return verifier_ && verifier_->ready(); }

void Service::SyncMetrics() {
  if (!hub_ || !metrics_) return;
  using C = Metrics::Class;
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (auto& [p, d] : all) {
      if (!d.started()) continue;
      const ClassCounts& c = d.counts();
      metrics_->SetClassTotal(C::kReceived, p, c.received);
      metrics_->SetClassTotal(C::kLost, p, c.lost);
      metrics_->SetClassTotal(C::kExpired, p, c.expired);
      metrics_->SetClassTotal(C::kRecovered, p, c.recovered);
      metrics_->SetClassTotal(C::kFailedButVisible, p, c.failed_but_visible);
      metrics_->SetClassTotal(C::kDuplicated, p, c.duplicated);
      metrics_->SetClassTotal(C::kRedelivered, p, c.redelivered);
      metrics_->SetClassTotal(C::kReordered, p, c.reordered);
      metrics_->SetClassTotal(C::kOffsetInconsistency, p, c.offset_inconsistencies);
      metrics_->SetClassTotal(C::kUnexpected, p, c.unexpected);
      for (const auto& [e, n] : c.not_committed) metrics_->SetNotCommittedTotal(p, e, n);
      for (const auto& [e, n] : c.indeterminate) metrics_->SetIndeterminateTotal(p, e, n);
      for (const auto& [r, n] : c.invalid) metrics_->SetInvalidTotal(p, r, n);
      metrics_->SetUnseen(p, d.Unseen());
    }
  });
  if (store_) metrics_->SetStateBytes(store_->ApproximateBytes());
  if (const TlsFront* tls = http_.tls_front()) {
    metrics_->SetListenerTotals(tls->handshake_failures(), tls->rejected_connections());
  }
}

// Detector totals reach the exported metrics on each scrape (the /metrics
// handler syncs them); this thread only probes the cluster.
void Service::Housekeeping() {
  auto next_probe = std::chrono::steady_clock::now();
  auto next_audit = next_probe;
  audit::AuditSchedule audit_schedule;
  while (!stop_housekeeping_.load()) {
    if (std::chrono::steady_clock::now() >= next_probe) {
      ProbeCluster();
      next_probe = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    if (!embedded() && kafka_up_.load() && std::chrono::steady_clock::now() >= next_audit) {
      next_audit = std::chrono::steady_clock::now() + audit_schedule.After(AuditConfig());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

bool Service::ServedWithin(std::chrono::seconds window) const {
  // The heartbeat gauges: wall-clock seconds of the latest ack and first read.
  const double last = metrics_->LastKafkaActivitySeconds();
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return last > 0 && now - last <= static_cast<double>(window.count());
}

// Cluster health is exported, not folded into readiness: a Kafka outage is
// what kcanary exists to report, not a reason to restart the sidecar.
void Service::ProbeCluster() {
  rd_kafka_t* rk = admin_.get();
  if (rk == nullptr) return;
  StatusOr<TopicInfo> info = DescribeTopic(rk, config_.topic, kHousekeepingCallMs);
  rd_kafka_poll(rk, 0);  // the client's error events, into admin_errors_
  // One broker hung (SIGSTOP, GC pause) times metadata requests out while the
  // others serve on, and librdkafka may send probe after probe to it. So
  // records acked or fetched in the last 10 s count as answers too, and
  // only three failed probes in a row (15 s) without them are down.
  const bool probe_answered = info.ok() || info.status().code() == Status::Code::kNotFound;
  if (probe_answered) admin_errors_.Clear();
  const bool answered = probe_answered || ServedWithin(std::chrono::seconds(10));
  probe_failures_ = answered ? 0 : probe_failures_ + 1;
  const bool up = answered || (kafka_up_.load() && probe_failures_ < 3);
  if (up != kafka_up_.load() || !probed_) {
    if (up) {
      spdlog::info("Kafka cluster reachable");
    } else {
      // The request's own error is often only a timeout or "transport
      // failure"; the client's last error says why (e.g. SASL credentials).
      const std::string last = admin_errors_.Last();
      spdlog::warn("Kafka cluster unreachable: {}{}", info.status().message(),
                   last.empty() ? std::string() : " (last client error: " + last + ")");
    }
  }
  probed_ = true;
  kafka_up_ = up;
  metrics_->SetKafkaUp(up);
  if (topic_manager_ && probe_answered) {
    if (topic_manager_->Reconcile(rk, info).ok() && !info.ok()) {
      // just created: export its coverage
      info = DescribeTopic(rk, config_.topic, kHousekeepingCallMs);
    }
  }
  if (!info.ok()) return;
  metrics_->SetBrokers(static_cast<int>(info->brokers.size()));
  // A broker gone from the metadata (down, fenced) leads nothing any more.
  for (int32_t broker : known_brokers_) {
    if (std::find(info->brokers.begin(), info->brokers.end(), broker) == info->brokers.end()) {
      metrics_->SetBrokerLeadsCanaryPartition(broker, false);
    }
  }
  for (int32_t broker : info->brokers) {
    known_brokers_.insert(broker);
    bool leads = false;
    for (const PartitionInfo& p : info->partitions) leads = leads || p.leader == broker;
    metrics_->SetBrokerLeadsCanaryPartition(broker, leads);
  }
}

// The durability checklist of the canary topic, into config_check_passing.
// A check that cannot be made (e.g. DescribeConfigs denied, or a topic so
// new that the broker asked does not know it yet) is left out rather than
// reported as failing, and the outcome says so: it is retried soon.
audit::AuditOutcome Service::AuditConfig() {
  // The roles take no --topics: this judges the canary topic alone.
  StatusOr<audit::AuditInput> input = GatherAuditInput(admin_.get(), config_, kHousekeepingCallMs);
  if (!input.ok()) {
    spdlog::debug("durability audit skipped: {}", input.status().message());
    return audit::AuditOutcome::kNothingToJudge;
  }
  // A missing topic is the topic manager's (or the operator's) business and
  // shows in kcanary_brokers / broker_leads; it is not a durability setting.
  if (input->topics.empty()) return audit::AuditOutcome::kNothingToJudge;
  audit::AuditOutcome outcome = audit::AuditOutcome::kComplete;
  for (const audit::CheckResult& r : audit::Evaluate(*input)) {
    if (r.verdict == audit::Verdict::kUnknown) {
      spdlog::debug("durability check {} on topic {} not judged: {}", r.check, r.topic, r.value);
      outcome = audit::AuditOutcome::kPartial;
      continue;
    }
    // Judge only the clients this process runs.
    const bool producer_check = r.check == "producer_acks" || r.check == "producer_retries";
    if ((producer_check && !canary_) || (r.check == "consumer_manual_commit" && !verifier_)) {
      continue;
    }
    const bool passing = r.verdict == audit::Verdict::kPass;
    metrics_->SetConfigCheckPassing(r.topic, r.check, passing);
    auto [it, first] = audit_verdicts_.try_emplace(r.topic + "/" + r.check, passing);
    if ((first && !passing) || (!first && it->second != passing)) {
      if (passing) {
        spdlog::info("durability check {} passes again on topic {}: {}", r.check, r.topic, r.value);
      } else {
        spdlog::warn("durability check {} fails on topic {}: {}; {}; fix: {}", r.check, r.topic,
                     r.value, r.why, r.fix);
      }
    }
    it->second = passing;
  }
  return outcome;
}

std::string Service::StatusJson() { return StatusObject().dump(2) + "\n"; }

nlohmann::json Service::StatusObject() {
  nlohmann::json j;
  j["topic"] = config_.topic;
  j["command"] = std::string(CommandName(config_.command));
  j["embedded_cluster"] = embedded();
  j["kafka_up"] = kafka_up_.load();
  j["ready"] = ready();
  j["consuming"] = consuming();
  j["producing"] = canary_ && canary_->ready();
  // The canary's and the verifier's, as kcanary_state_write_failures_total:
  // each held back an offset commit (verifier) or a round of sends (canary).
  j["state_write_failures"] = metrics_->StateWriteFailures();
  if (canary_) {
    char run[17];
    std::snprintf(run, sizeof(run), "%016llx", static_cast<unsigned long long>(canary_->run_id()));
    j["canary_run"] = run;
  }
  const std::map<int32_t, int64_t> lag =
      verifier_ ? verifier_->lag() : std::map<int32_t, int64_t>{};
  nlohmann::json partitions = nlohmann::json::array();
  ClassCounts total;
  int64_t total_unseen = 0;
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (auto& [p, d] : all) {
      if (!d.started()) continue;
      nlohmann::json pj;
      pj["partition"] = p;
      pj["position"] = d.position();
      auto it = lag.find(p);
      pj["lag"] = it == lag.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second);
      nlohmann::json last = nlohmann::json::object();
      for (const auto& [run, seq] : d.LastSequences()) {
        char id[17];
        std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(run));
        last[id] = seq;
      }
      pj["last_sequence"] = last;
      pj["pending_checks"] = d.PendingChecks();
      pj["counts"] = CountsJson(d.counts(), d.Unseen());
      partitions.push_back(pj);
      total += d.counts();
      total_unseen += d.Unseen();
    }
  });
  j["totals"] = CountsJson(total, total_unseen);
  j["partitions"] = partitions;
  return j;
}

std::string Service::IndexHtml() {
  const nlohmann::json status = StatusObject();
  const nlohmann::json& t = status["totals"];
  auto sum = [](const nlohmann::json& labeled) {
    uint64_t n = 0;
    for (const auto& [k, v] : labeled.items()) n += v.get<uint64_t>();
    return n;
  };
  const bool loss =
      t["lost"].get<uint64_t>() > 0 || t["offset_inconsistencies"].get<uint64_t>() > 0;
  std::string html =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>kcanary</title>"
      "<meta http-equiv=\"refresh\" content=\"5\">"
      "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}"
      ".bad{color:#b00;font-weight:bold}.ok{color:#070;font-weight:bold}</style></head><body>";
  html += "<h1>kcanary</h1><p>topic <b>" + status["topic"].get<std::string>() + "</b> &middot; " +
          status["command"].get<std::string>() +
          (status["embedded_cluster"].get<bool>() ? " &middot; embedded mock cluster" : "") +
          " &middot; Kafka " +
          (status["kafka_up"].get<bool>() ? "up" : "<span class=bad>down</span>") + "</p>";
  html += loss ? "<p class=bad>Committed messages were lost.</p>"
               : "<p class=ok>No loss of committed messages detected.</p>";
  html += "<table><tr><th>class</th><th>records</th></tr>";
  for (const char* k :
       {"received", "lost", "expired", "unseen", "recovered", "failed_but_visible", "duplicated",
        "reordered", "redelivered", "offset_inconsistencies", "unexpected"}) {
    html += std::string("<tr><td>") + k + "</td><td>" + t[k].dump() + "</td></tr>";
  }
  for (const char* k : {"not_committed", "indeterminate", "invalid"}) {
    html += std::string("<tr><td>") + k + "</td><td>" + std::to_string(sum(t[k])) + "</td></tr>";
  }
  html +=
      "</table><p><a href=\"/metrics\">/metrics</a> &middot; <a href=\"/status\">/status</a> "
      "&middot; <a href=\"/healthz\">/healthz</a> &middot; <a href=\"/readyz\">/readyz</a></p>"
      "</body></html>\n";
  return html;
}

}  // namespace kcanary
