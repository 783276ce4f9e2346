#include "bench/inprocess/pipeline.h"

#include <cstdio>
#include <utility>

#include "state.pb.h"

namespace kcanary::bench {
namespace {

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

VerifierPipeline::VerifierPipeline(std::string state_namespace, StateStore* store, Metrics* metrics,
                                   DetectorHub* hub)
    : keys_("verifier", state_namespace), store_(store), metrics_(metrics), hub_(hub) {}

bool VerifierPipeline::Start(int32_t partition, int64_t offset) {
  hub_->With(partition, [&](PartitionDetector& d) { d.StartAt(offset); });
  metrics_->AddPartition(partition);
  started_.insert(partition);
  return StoreStates({partition});
}

// Verifier::ProcessBatch (verifier/verifier.cc) for messages without errors:
// the same RecordFeed per record and StoreDetectorStates per batch.
std::map<int32_t, int64_t> VerifierPipeline::Process(const std::vector<Message>& batch) {
  std::set<int32_t> touched;
  std::vector<std::pair<double, double>> latencies;  // (latency, read at)
  const double now = WallSeconds();
  {
    auto lock = hub_->Lock();
    int32_t run_partition = -1;
    PartitionDetector* run_detector = nullptr;
    for (const Message& msg : batch) {
      const int32_t partition = msg.partition;
      if (!started_.count(partition)) continue;
      if (partition != run_partition) {
        run_detector = &hub_->Get(partition);
        touched.insert(partition);
        run_partition = partition;
      }
      const std::optional<double> latency =
          feed_.Feed(*run_detector, partition, msg.offset, msg.value, now);
      if (latency) latencies.emplace_back(*latency, now);
    }
  }
  metrics_->FirstReads(latencies);
  std::map<int32_t, int64_t> seeks;
  if (touched.empty()) return seeks;
  // The verifier commits only after a successful store; here there is no
  // commit, but a failed store is counted the same way.
  StoreStates(touched);
  SyncMetrics(touched);
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (int32_t partition : touched) {
      PartitionDetector& d = all.at(partition);
      if (!d.seek_pending()) continue;
      seeks[partition] = d.position();
      d.OnSeekDone();
    }
  });
  return seeks;
}

bool VerifierPipeline::StoreStates(const std::set<int32_t>& partitions) {
  if (Status s = StoreDetectorStates(*hub_, keys_, *store_, partitions); !s.ok()) {
    ++store_failures_;
    std::fprintf(stderr, "state not stored: %s\n", s.message().c_str());
    return false;
  }
  return true;
}

void VerifierPipeline::SyncMetrics(const std::set<int32_t>& partitions) {
  using C = Metrics::Class;
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (int32_t p : partitions) {
      const ClassCounts& c = all.at(p).counts();
      metrics_->SetClassTotal(C::kReceived, p, c.received);
      metrics_->SetClassTotal(C::kLost, p, c.lost);
      metrics_->SetClassTotal(C::kDuplicated, p, c.duplicated);
      metrics_->SetClassTotal(C::kOffsetInconsistency, p, c.offset_inconsistencies);
    }
  });
}

void VerifierPipeline::PruneAll(int64_t log_start) {
  for (int32_t partition : started_) {
    hub_->With(partition, [&](PartitionDetector& d) { d.Prune(log_start); });
  }
}

bool VerifierPipeline::StoreAll() { return StoreStates(started_); }

uint64_t VerifierPipeline::StateBytes() {
  uint64_t bytes = 0;
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (const auto& [p, d] : all) {
      state::PartitionState ps;
      d.SaveTo(&ps);
      bytes += ps.ByteSizeLong();
    }
  });
  return bytes;
}

uint64_t VerifierPipeline::Lost(int32_t partition) {
  return hub_->With(partition, [](PartitionDetector& d) { return d.counts().lost; });
}

}  // namespace kcanary::bench
