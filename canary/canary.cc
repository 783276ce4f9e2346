#include "canary/canary.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "canary/send_rounds.h"
#include "common/kafka/hand_over.h"
#include "proto/record_codec.h"
#include "state.pb.h"

namespace kcanary {
namespace {

using Clock = std::chrono::steady_clock;

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t NewRunId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id;
}

// A clock read (about 25 ns here) is a few percent of producing a record,
// so a round's records share one read per this many: a record's
// produce time is early by at most the time it takes to send the 31 before
// it (tens of microseconds), and never older than its round.
constexpr int kStampEvery = 32;

// Error label for sequences whose delivery report a killed canary never got.
constexpr const char* kRestartError = "canary_restart";

}  // namespace

Canary::Canary(CanaryOptions options, StateStore* store, Metrics* metrics, DeliverySink* sink)
    : options_(std::move(options)),
      keys_("canary", options_.state_namespace.empty() ? options_.topic : options_.state_namespace),
      store_(store),
      metrics_(metrics),
      sink_(sink) {}

Canary::~Canary() {
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
  if (journal_fd_ >= 0) close(journal_fd_);
}

StatusOr<std::unique_ptr<Canary>> Canary::Create(const CanaryOptions& options, StateStore* store,
                                                 Metrics* metrics, DeliverySink* sink) {
  std::unique_ptr<Canary> canary(new Canary(options, store, metrics, sink));
  if (Status s = canary->Init(); !s.ok()) return s;
  return canary;
}

Status Canary::Init() {
  if (!options_.delivery_journal.empty()) {
    journal_fd_ =
        open(options_.delivery_journal.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (journal_fd_ < 0) {
      return Status::IoError("cannot open delivery journal " + options_.delivery_journal + ": " +
                             std::strerror(errno));
    }
  }
  if (Status s = LoadState(); !s.ok()) return s;
  return CreateProducer();
}

Status Canary::CreateProducer() {
  StatusOr<rd_kafka_conf_t*> conf = BuildKafkaConf(options_.producer_config);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &Canary::DeliveryReport);
  rd_kafka_conf_set_opaque(*conf, this);
  StatusOr<KafkaHandle> producer = CreateKafkaClient(RD_KAFKA_PRODUCER, *conf);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  topic_ = rd_kafka_topic_new(producer_.get(), options_.topic.c_str(), nullptr);
  return Status::Ok();
}

Status Canary::LoadState() {
  const std::string run_key = keys_.RunKey();
  StatusOr<std::optional<std::string>> stored = store_->Get(run_key);
  if (!stored.ok()) return stored.status();
  state::CanaryState run;
  if (stored->has_value()) {
    if (!run.ParseFromString(**stored) || run.run_id() == 0) {
      return Status::Corruption("canary state at " + run_key + " in " + store_->dir() +
                                " does not parse; move the state directory away to reset");
    }
    run_id_ = run.run_id();
    spdlog::info("canary: resuming run {:016x}", run_id_);
  } else {
    run_id_ = NewRunId();
    run.set_run_id(run_id_);
    run.set_topic(options_.topic);
    WriteBatch batch;
    batch.Put(run_key, run.SerializeAsString());
    if (Status s = store_->Write(batch); !s.ok()) return s;
    spdlog::info("canary: new run {:016x}", run_id_);
  }

  StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
      store_->ScanPrefix(keys_.PartitionPrefix());
  if (!rows.ok()) return rows.status();
  for (const auto& [key, value] : *rows) {
    state::CanaryPartitionState ps;
    if (!ps.ParseFromString(value)) {
      return Status::Corruption("canary state at " + key + " does not parse; move the state " +
                                "directory away to reset");
    }
    Partition& p = partitions_[ps.partition()];
    p.id = ps.partition();
    p.next_seq = static_cast<int64_t>(ps.next_sequence());
    p.stored_next = p.next_seq;
    p.log.LoadFrom(ps.outcomes());
    p.produced = ps.produced();
    p.acked = ps.acked();
    metrics_->AddPartition(p.id);
    if (sink_ != nullptr && p.next_seq > 0) sink_->OnSent(run_id_, p.id, p.next_seq - 1);
    // Sequences handed to the producer whose report the previous process
    // never got: their fate is unknown, which is what POSSIBLY_PERSISTED says.
    const int64_t in_doubt = p.next_seq - p.log.resolved_end();
    if (in_doubt > 0) {
      DeliveryOutcome o{Delivery::kPossibly, -1, kRestartError, p.next_seq - 1};
      Journal(p.id, p.log.resolved_end(), in_doubt, o);
      p.log.Add(p.log.resolved_end(), in_doubt, o);
      p.dirty = true;
      spdlog::warn("canary: partition {}: {} record(s) in flight at the last stop are in doubt",
                   p.id, in_doubt);
    }
    if (sink_ != nullptr) {
      for (const wire::Outcome& e : p.log.entries()) {
        sink_->OnOutcome(run_id_, p.id, static_cast<int64_t>(e.first_sequence()),
                         static_cast<int64_t>(e.count()), OutcomeFromWire(e));
      }
    }
  }
  return Persist();
}

void Canary::AddPartition(int32_t id) {
  if (partitions_.count(id)) return;
  Partition& p = partitions_[id];
  p.id = id;
  p.dirty = true;
  metrics_->AddPartition(id);
  spdlog::info("canary: producing to {}/{}", options_.topic, id);
}

void Canary::RefreshPartitions() {
  StatusOr<TopicInfo> info = DescribeTopic(producer_.get(), options_.topic, 2000);
  if (!info.ok()) {
    spdlog::warn("canary: {}", info.status().message());
    next_metadata_ = Clock::now() + std::chrono::seconds(2);
    return;
  }
  for (const PartitionInfo& p : info->partitions) AddPartition(p.id);
  next_metadata_ = Clock::now() + options_.metadata_refresh;
  ready_ = true;
}

Status Canary::Persist() {
  WriteBatch batch;
  for (auto& [id, p] : partitions_) {
    if (!p.dirty && p.stored_next == p.next_seq) continue;
    state::CanaryPartitionState ps;
    ps.set_partition(id);
    ps.set_next_sequence(static_cast<uint64_t>(p.next_seq));
    p.log.SaveTo(ps.mutable_outcomes());
    ps.set_produced(p.produced);
    ps.set_acked(p.acked);
    batch.Put(keys_.PartitionKey(id), ps.SerializeAsString());
  }
  if (batch.empty()) return Status::Ok();
  Status s = store_->Write(batch);
  if (!s.ok()) {
    metrics_->StateWriteFailed();
    store_failure_log_.Failed(s);
    return s;
  }
  store_failure_log_.Succeeded();
  for (auto& [id, p] : partitions_) {
    p.dirty = false;
    p.stored_next = p.next_seq;
  }
  // Only what is stored goes to the journal: after a crash it never claims
  // an outcome that the restarted canary would contradict.
  if (journal_fd_ >= 0 && !journal_pending_.empty()) {
    if (write(journal_fd_, journal_pending_.data(), journal_pending_.size()) < 0) {
      spdlog::error("canary: delivery journal write failed: {}", std::strerror(errno));
    }
    journal_pending_.clear();
  }
  return s;
}

void Canary::Journal(int32_t partition, int64_t first_seq, int64_t count,
                     const DeliveryOutcome& o) {
  if (journal_fd_ < 0) return;
  static constexpr const char* kStatus[] = {"UNKNOWN", "PERSISTED", "NOT_PERSISTED",
                                            "POSSIBLY_PERSISTED"};
  char line[256];
  for (int64_t seq = first_seq; seq < first_seq + count; ++seq) {
    const int n =
        std::snprintf(line, sizeof(line), "%016llx %d %lld %s %lld %s\n",
                      static_cast<unsigned long long>(run_id_), partition,
                      static_cast<long long>(seq), kStatus[static_cast<int>(o.status)],
                      static_cast<long long>(o.status == Delivery::kPersisted ? o.offset : -1),
                      o.error.empty() ? "-" : o.error.c_str());
    if (n > 0) journal_pending_.append(line, std::min<size_t>(n, sizeof(line) - 1));
  }
}

void Canary::Run(const std::atomic<bool>& stop) {
  last_tick_ = Clock::now();
  next_round_ = last_tick_;
  RefreshPartitions();
  while (!stop.load()) {
    const auto now = Clock::now();
    if (now >= next_metadata_) RefreshPartitions();
    if (now >= next_round_) {
      // The next round is due one interval after this one was due, so rounds
      // keep their pace; after a stall, one interval from now.
      const auto interval = SendRoundInterval(options_.rate, partitions_.size());
      next_round_ += interval;
      if (next_round_ <= now) next_round_ = now + interval;
      Tick(now, interval);
    }
    // Serves delivery reports until the next round (returns early on each).
    // librdkafka (2.8.0 as 2.0.2) sends each partition's batch in a request of its own,
    // so a round's reports arrive one response at a time over a few
    // milliseconds: after a wait, the rest are gathered (hand_over.h).
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_round_ - Clock::now());
    const auto before = Clock::now();
    const int served = PollReports(static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 100)));
    if (served > 0 && GatherAfterWait(before, next_round_ - Clock::now())) PollReports(0);
    char reason[256];
    if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer_.get(), reason, sizeof(reason))) {
      // The idempotent producer cannot go on (e.g. out-of-order sequence):
      // settle what it holds, then carry on with a fresh instance.
      spdlog::error("canary: fatal producer error {}: {}; restarting the producer",
                    KafkaErrorName(fatal), reason);
      Drain();
      rd_kafka_topic_destroy(topic_);
      topic_ = nullptr;
      producer_.reset();
      if (Status s = CreateProducer(); !s.ok()) {
        spdlog::error("canary: cannot restart the producer: {}", s.message());
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
  }
  Drain();
  // Outcomes travel in later records, so the last ones would never reach a
  // verifier in another process: one closing record per partition carries
  // them. Its own outcome stays unknown there, which is never an anomaly.
  if (!producer_) return;
  std::map<int32_t, int64_t> closing;
  for (const auto& [id, p] : partitions_) closing[id] = 1;
  if (SendStored(closing)) Drain();
}

void Canary::Tick(Clock::time_point now, std::chrono::microseconds interval) {
  const double elapsed = std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  // After a stall the canary does not burst to catch up: a round's worth and
  // a fraction of a second more are owed at most.
  const double cap = options_.rate * (std::chrono::duration<double>(interval).count() + 0.2) + 1;
  int64_t due_total = 0;
  for (auto& [id, p] : partitions_) {
    p.budget = std::min(cap, p.budget + options_.rate * elapsed);
    due_total += static_cast<int64_t>(p.budget);
  }
  if (due_total == 0) {
    // Outcomes reported since the last tick still get stored.
    Persist();  // a failure is logged and counted there
    return;
  }
  std::map<int32_t, int64_t> due;
  for (auto& [id, p] : partitions_) {
    const auto n = static_cast<int64_t>(p.budget);
    if (n == 0) continue;
    due[id] = n;
    p.budget -= static_cast<double>(n);
  }
  SendStored(due);
}

bool Canary::SendStored(const std::map<int32_t, int64_t>& due) {
  for (const auto& [id, n] : due) partitions_[id].next_seq += n;
  if (Status s = Persist(); !s.ok()) {
    // Without a stored sequence a crash could not tell in-doubt records
    // apart: send nothing until the store works again. (Persist logged it.)
    for (const auto& [id, n] : due) partitions_[id].next_seq -= n;
    return false;
  }
  stamp_uses_ = 0;
  for (const auto& [id, n] : due) {
    Partition& p = partitions_[id];
    p.next_seq -= n;
    // Counted before they go, so produced never trails acked on a scrape.
    metrics_->MessageProduced(p.id, static_cast<uint64_t>(n));
    for (int64_t i = 0; i < n; ++i) Produce(p);
  }
  return true;
}

void Canary::Produce(Partition& p) {
  const int64_t seq = p.next_seq++;
  wire::CanaryRecord& record = record_;
  record.Clear();
  record.set_run_id(run_id_);
  record.set_partition(p.id);
  record.set_sequence(static_cast<uint64_t>(seq));
  record.set_produce_time_us(ProduceStamp());
  const size_t budget = options_.message_size > 64 ? options_.message_size - 48 : 16;
  p.log.AppendSummary(&record, budget);
  EncodeRecordInto(record, static_cast<size_t>(options_.message_size), &value_);
  if (sink_ != nullptr) sink_->OnSent(run_id_, p.id, seq);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int attempt = 0; attempt < 100; ++attempt) {
    err = rd_kafka_producev(producer_.get(), RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_PARTITION(p.id),
                            RD_KAFKA_V_VALUE(value_.data(), value_.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(SequenceToOpaque(seq)), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
    PollReports(10);  // let delivery reports drain the queue
    stamp_uses_ = 0;  // the next record's stamp must not predate the wait
  }
  ++p.produced;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Refused before it left the process: certainly not persisted.
    RecordOutcome(p, seq, {Delivery::kNotPersisted, -1, KafkaErrorName(err), p.next_seq - 1});
  }
}

void Canary::DeliveryReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  // Never let an exception cross into librdkafka.
  try {
    static_cast<Canary*>(opaque)->OnDelivery(msg);
  } catch (const std::exception& e) {
    spdlog::error("canary: delivery report handling failed: {}", e.what());
  }
}

void Canary::OnDelivery(const rd_kafka_message_t* msg) {
  const std::optional<int64_t> seq = SequenceFromOpaque(msg->_private);
  if (!seq) return;
  auto it = partitions_.find(msg->partition);
  if (it == partitions_.end()) return;
  Partition& p = it->second;
  DeliveryOutcome outcome;
  switch (rd_kafka_message_status(msg)) {
    case RD_KAFKA_MSG_STATUS_PERSISTED:
      outcome.status = Delivery::kPersisted;
      // A report with an error carries an offset librdkafka made up (its
      // failed batches count -1001, -1000, ...): committed, place unknown.
      outcome.offset = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? msg->offset : -1;
      break;
    case RD_KAFKA_MSG_STATUS_NOT_PERSISTED:
      outcome.status = Delivery::kNotPersisted;
      break;
    case RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED:
      outcome.status = Delivery::kPossibly;
      break;
  }
  if (outcome.status != Delivery::kPersisted) {
    outcome.error = KafkaErrorName(msg->err);
    outcome.fence = p.next_seq - 1;
  }
  if (outcome.status == Delivery::kPersisted) {
    ++p.acked;
    // From the producev() call to now, by librdkafka's clock: one clock read
    // per report instead of a stamp allocated per record.
    const int64_t latency_us = rd_kafka_message_latency(msg);
    acks_.push_back({p.id, latency_us >= 0 ? static_cast<double>(latency_us) / 1e6 : NAN});
  } else {
    auto& last = last_error_log_[outcome.error];
    if (Clock::now() - last > std::chrono::seconds(10)) {
      last = Clock::now();
      spdlog::warn("canary: {}/{} seq {}: delivery failed: {} ({})", options_.topic, p.id, *seq,
                   outcome.error,
                   outcome.status == Delivery::kPossibly ? "possibly persisted" : "not persisted");
    }
  }
  RecordOutcome(p, *seq, outcome);
}

int Canary::PollReports(int timeout_ms) {
  const int served = rd_kafka_poll(producer_.get(), timeout_ms);
  FlushAcks();
  return served;
}

void Canary::FlushAcks() {
  if (acks_.empty()) return;
  metrics_->MessagesAcked(acks_, static_cast<double>(WallMicros()) / 1e6);
  acks_.clear();
}

int64_t Canary::ProduceStamp() {
  if (stamp_uses_ == 0) stamp_us_ = WallMicros();
  stamp_uses_ = (stamp_uses_ + 1) % kStampEvery;
  return stamp_us_;
}

void Canary::RecordOutcome(Partition& p, int64_t seq, const DeliveryOutcome& outcome) {
  Journal(p.id, seq, 1, outcome);
  p.log.Add(seq, 1, outcome);
  p.dirty = true;
  if (sink_ != nullptr) sink_->OnOutcome(run_id_, p.id, seq, 1, outcome);
}

void Canary::Drain() {
  if (!producer_) return;
  rd_kafka_flush(producer_.get(), static_cast<int>(options_.drain_timeout.count()));
  FlushAcks();
  if (rd_kafka_outq_len(producer_.get()) > 0) {
    // Reports for what could not be delivered in time: purged queued records
    // are not persisted, purged in-flight ones possibly persisted.
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 50 && rd_kafka_outq_len(producer_.get()) > 0; ++i) PollReports(100);
  }
  if (Status s = Persist(); !s.ok())
    spdlog::error("canary: final state not stored: {}", s.message());
}

}  // namespace kcanary
