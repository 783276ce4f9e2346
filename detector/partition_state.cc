// PartitionDetector <-> state.PartitionState: what the verifier writes to
// RocksDB with its position, so a restart resumes with the same verdicts.
#include "detector/partition_detector.h"
#include "state.pb.h"

namespace kcanary {
namespace {

const RecordRef& RefOf(const RecordRef& r) { return r; }
const RecordRef& RefOf(const AckRef& a) { return a.record; }
uint64_t EpochOf(const RecordRef&) { return 0; }
uint64_t EpochOf(const AckRef& a) { return a.epoch; }

template <typename V>
void SaveRecordRuns(const IntervalMap<V>& map,
                    google::protobuf::RepeatedPtrField<state::RecordRefRun>* out) {
  map.ForEachRun([&](const typename IntervalMap<V>::Run& r) {
    state::RecordRefRun* run = out->Add();
    run->set_start(r.start);
    run->set_length(r.length);
    run->set_kind(static_cast<uint32_t>(RefOf(r.first).kind));
    run->set_run_id(RefOf(r.first).run_id);
    run->set_seq(RefOf(r.first).seq);
    run->set_epoch(EpochOf(r.first));
  });
}

StatusOr<RecordRef> RefFrom(const state::RecordRefRun& run) {
  if (run.length() <= 0 || run.kind() > static_cast<uint32_t>(RecordRef::Kind::kExpired)) {
    return Status::Corruption("detector state: bad offset run");
  }
  return RecordRef{static_cast<RecordRef::Kind>(run.kind()), run.run_id(), run.seq()};
}

Status LoadRecordRuns(const google::protobuf::RepeatedPtrField<state::RecordRefRun>& in,
                      IntervalMap<RecordRef>* map) {
  for (const state::RecordRefRun& run : in) {
    StatusOr<RecordRef> ref = RefFrom(run);
    if (!ref.ok()) return ref.status();
    map->SetRange(run.start(), run.length(), *ref);
  }
  return Status::Ok();
}

Status LoadRecordRuns(const google::protobuf::RepeatedPtrField<state::RecordRefRun>& in,
                      IntervalMap<AckRef>* map) {
  for (const state::RecordRefRun& run : in) {
    StatusOr<RecordRef> ref = RefFrom(run);
    if (!ref.ok()) return ref.status();
    map->SetRange(run.start(), run.length(), AckRef{*ref, run.epoch()});
  }
  return Status::Ok();
}

void SaveLabeled(const std::map<std::string, uint64_t>& counts,
                 google::protobuf::RepeatedPtrField<state::LabeledCount>* out) {
  for (const auto& [label, count] : counts) {
    state::LabeledCount* c = out->Add();
    c->set_label(label);
    c->set_count(count);
  }
}

void LoadLabeled(const google::protobuf::RepeatedPtrField<state::LabeledCount>& in,
                 std::map<std::string, uint64_t>* counts) {
  for (const state::LabeledCount& c : in) (*counts)[c.label()] = c.count();
}

}  // namespace

void PartitionDetector::SaveTo(state::PartitionState* out) const {
  out->Clear();
  out->set_partition(partition_);
  out->set_position(position_);
  out->set_floor(floor_);
  out->set_epoch(epoch_);
  SaveRecordRuns(reads_, out->mutable_reads());
  SaveRecordRuns(acks_, out->mutable_acks());
  for (const auto& [offset, acked] : pending_) {
    state::PendingCheck* p = out->add_pending();
    p->set_offset(offset);
    p->set_run_id(acked.run_id);
    p->set_seq(acked.seq);
  }
  for (const auto& [run_id, s] : streams_) {
    state::StreamState* st = out->add_streams();
    st->set_run_id(run_id);
    st->set_pass_max_seq(s.pass_max_seq);
    st->set_max_seq_passed(s.max_seq_passed);
    st->set_produced_through(s.produced_through);
    st->set_own(s.own);
    s.seqs.ForEachRun([&](const IntervalMap<SeqInfo>::Run& r) {
      state::SeqRun* run = st->add_seqs();
      run->set_start(r.start);
      run->set_length(r.length);
      run->set_delivery(static_cast<uint32_t>(r.first.delivery));
      run->set_verdict(static_cast<uint32_t>(r.first.verdict));
      run->set_flags(r.first.flags);
      run->set_error(r.first.error);
      run->set_ack_offset(r.first.ack_offset);
      run->set_fence(r.first.fence);
    });
  }
  state::ClassCounts* c = out->mutable_counts();
  c->set_received(counts_.received);
  c->set_lost(counts_.lost);
  c->set_expired(counts_.expired);
  c->set_recovered(counts_.recovered);
  c->set_failed_but_visible(counts_.failed_but_visible);
  c->set_duplicated(counts_.duplicated);
  c->set_redelivered(counts_.redelivered);
  c->set_reordered(counts_.reordered);
  c->set_offset_inconsistencies(counts_.offset_inconsistencies);
  c->set_unexpected(counts_.unexpected);
  SaveLabeled(counts_.not_committed, c->mutable_not_committed());
  SaveLabeled(counts_.indeterminate, c->mutable_indeterminate());
  SaveLabeled(counts_.invalid, c->mutable_invalid());
  for (const std::string& e : errors_) out->add_errors(e);
}

Status PartitionDetector::LoadFrom(const state::PartitionState& in) {
  if (in.partition() != partition_) {
    return Status::Corruption("detector state for partition " + std::to_string(in.partition()) +
                              " stored under partition " + std::to_string(partition_));
  }
  PartitionDetector loaded(partition_, options_);
  loaded.position_ = in.position();
  loaded.floor_ = in.floor();
  // Whatever is read after a restart was fetched after every stored ack was
  // known: a new read pass.
  loaded.epoch_ = in.epoch() + 1;
  if (Status s = LoadRecordRuns(in.reads(), &loaded.reads_); !s.ok()) return s;
  if (Status s = LoadRecordRuns(in.acks(), &loaded.acks_); !s.ok()) return s;
  for (const state::PendingCheck& p : in.pending()) {
    loaded.pending_.emplace(p.offset(), RecordRef::Record(p.run_id(), p.seq()));
  }
  loaded.errors_.assign(in.errors().begin(), in.errors().end());
  if (loaded.errors_.empty()) loaded.errors_.push_back("");
  for (const state::StreamState& st : in.streams()) {
    Stream& s = loaded.streams_[st.run_id()];
    s.pass_max_seq = st.pass_max_seq();
    s.max_seq_passed = st.max_seq_passed();
    s.produced_through = st.produced_through();
    s.own = st.own();
    for (const state::SeqRun& run : st.seqs()) {
      if (run.length() <= 0 || run.delivery() > 3 ||
          run.verdict() > static_cast<uint32_t>(Verdict::kUnjudged) ||
          run.error() >= loaded.errors_.size()) {
        return Status::Corruption("detector state: bad sequence run");
      }
      SeqInfo info;
      info.delivery = static_cast<Delivery>(run.delivery());
      info.verdict = static_cast<Verdict>(run.verdict());
      info.flags = static_cast<uint8_t>(run.flags());
      info.error = static_cast<uint16_t>(run.error());
      info.ack_offset = run.ack_offset();
      info.fence = run.fence();
      s.seqs.SetRange(run.start(), run.length(), info);
      if ((info.delivery == Delivery::kNotPersisted || info.delivery == Delivery::kPossibly) &&
          info.verdict == Verdict::kNone) {
        s.min_open_fence = std::min(s.min_open_fence, info.fence);
      }
    }
  }
  const state::ClassCounts& c = in.counts();
  ClassCounts& k = loaded.counts_;
  k.received = c.received();
  k.lost = c.lost();
  k.expired = c.expired();
  k.recovered = c.recovered();
  k.failed_but_visible = c.failed_but_visible();
  k.duplicated = c.duplicated();
  k.redelivered = c.redelivered();
  k.reordered = c.reordered();
  k.offset_inconsistencies = c.offset_inconsistencies();
  k.unexpected = c.unexpected();
  LoadLabeled(c.not_committed(), &k.not_committed);
  LoadLabeled(c.indeterminate(), &k.indeterminate);
  LoadLabeled(c.invalid(), &k.invalid);
  *this = std::move(loaded);
  return Status::Ok();
}

}  // namespace kcanary
