// kcanary-bench-state: kcanary's verifier pipeline without Kafka, fed as fast
// as it can take records, to show what its state and memory do over 10^6 to
// 10^8 records, how soon a loss reaches the lost counter, and to leave a large
// verifier state behind for the restart benchmark.
//
//   kcanary-bench-state --state-dir /tmp/s --records 1e7 --dup-per-million 3
//
// Prints one JSON object per line: {"event":"checkpoint",...} at each
// checkpoint, {"event":"latency",...} in latency mode, {"event":"done",...}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/inprocess/consumer.h"
#include "bench/inprocess/options.h"
#include "bench/inprocess/pipeline.h"
#include "bench/inprocess/proc_stats.h"

namespace kcanary::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Emit(const nlohmann::json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

std::unique_ptr<StateStore> OpenStore(const std::string& dir) {
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir, StoreOptions{});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

// Chooses each sequence's anomaly for the mode.
SimulatedConsumer::Planner MakePlanner(const Options& o) {
  if (o.mode == "latency") {
    // Staggered over the partitions, so rewinds rarely overlap; none in a
    // partition's first `every` sequences, where the rewind would be cut short
    // by the start of the history.
    return [every = o.loss_every, n = o.partitions](int32_t p, int64_t seq) {
      const bool loss = seq >= every && (seq + p * every / n) % every == every / 2;
      return loss ? Anomaly::kLoss : Anomaly::kNone;
    };
  }
  if (o.mode == "build") {
    return [every = o.dup_every](int32_t, int64_t seq) {
      return seq % every == every - 1 ? Anomaly::kDuplicate : Anomaly::kNone;
    };
  }
  auto rng = std::make_shared<std::mt19937_64>(o.seed);
  const double loss = o.loss_per_million / 1e6;
  const double dup = o.dup_per_million / 1e6;
  return [rng, loss, dup](int32_t, int64_t seq) {
    if (seq == 0 || (loss == 0 && dup == 0)) return Anomaly::kNone;
    const double u = std::uniform_real_distribution<double>(0, 1)(*rng);
    if (u < loss) return Anomaly::kLoss;
    if (u < loss + dup) return Anomaly::kDuplicate;
    return Anomaly::kNone;
  };
}

// A loss whose proof sits at `offset`; `handed` once its batch reached the pipeline.
struct LossEvent {
  int64_t offset;
  bool handed = false;
  Clock::time_point at;
};

int Main(const Options& o) {
  std::filesystem::remove_all(o.state_dir);
  std::unique_ptr<StateStore> store = OpenStore(o.state_dir);
  Metrics metrics(o.state_namespace, "bench", "n/a");
  DetectorHub hub(DetectorOptions{});
  VerifierPipeline pipeline(o.state_namespace, store.get(), &metrics, &hub);

  std::vector<std::deque<LossEvent>> losses(static_cast<size_t>(o.partitions));
  int64_t anomalies = 0;
  // The ring covers the detector's rewind margin behind the newest chunk
  // (a rewind starts at most that far below an offset of the current batch).
  // Duplicates never make the detector rewind, so a build needs no margin,
  // but a chunk of sequences with duplicates spans more offsets.
  const size_t margin = o.mode == "build" ? o.chunk : DetectorOptions{}.rewind_margin;
  const size_t ring = margin + o.chunk + 2048;
  SimulatedConsumer consumer(
      o.partitions, o.message_size, ring, o.chunk, o.live, MakePlanner(o),
      [&](int32_t p, Anomaly a, int64_t offset) {
        ++anomalies;
        if (a == Anomaly::kLoss)
          losses[static_cast<size_t>(p)].push_back(LossEvent{offset, false, {}});
      });
  for (int p = 0; p < o.partitions; ++p) pipeline.Start(p, 0);

  std::vector<int64_t> checkpoints = o.checkpoints;
  std::sort(checkpoints.begin(), checkpoints.end());
  checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
  std::erase_if(checkpoints, [&](int64_t c) { return c > o.records || c <= 0; });

  std::vector<Message> batch;
  batch.reserve(o.batch);
  std::vector<uint64_t> lost_seen(static_cast<size_t>(o.partitions), 0);
  std::vector<double> latencies;
  int64_t reads = 0;
  Clock::duration busy{};  // time inside the pipeline
  const auto start = Clock::now();
  auto next_prune = start + std::chrono::milliseconds(o.prune_interval_ms);
  int64_t last_count = 0;
  Clock::duration last_busy{};
  auto last_wall = start;

  for (int64_t checkpoint : checkpoints) {
    consumer.SetBudget(checkpoint);
    while (consumer.NextBatch(o.batch, &batch)) {
      reads += static_cast<int64_t>(batch.size());
      const auto handed = Clock::now();
      for (const Message& m : batch) {
        std::deque<LossEvent>& q = losses[static_cast<size_t>(m.partition)];
        for (LossEvent& e : q) {
          if (e.offset == m.offset && !e.handed) e = {e.offset, true, handed};
        }
      }
      const std::map<int32_t, int64_t> seeks = pipeline.Process(batch);
      const auto done = Clock::now();
      busy += done - handed;
      for (const auto& [p, offset] : seeks) consumer.Seek(p, offset);
      for (int p = 0; p < o.partitions; ++p) {
        auto& q = losses[static_cast<size_t>(p)];
        if (q.empty()) continue;
        const uint64_t lost = pipeline.Lost(p);
        for (; lost_seen[static_cast<size_t>(p)] < lost && !q.empty(); q.pop_front()) {
          ++lost_seen[static_cast<size_t>(p)];
          if (q.front().handed) latencies.push_back(Seconds(done - q.front().at));
        }
      }
      if (done >= next_prune) {
        pipeline.PruneAll(/*log_start=*/0);
        next_prune = done + std::chrono::milliseconds(o.prune_interval_ms);
      }
    }
    // Measure what a running kcanary would report, then what settles on disk
    // once RocksDB has flushed (closing the store flushes; reopen to go on).
    const auto wall = Clock::now();
    pipeline.StoreAll();
    const uint64_t approximate = store->ApproximateBytes();
    metrics.SetStateBytes(approximate);
    const uint64_t live_dir = DirBytes(o.state_dir);
    const Memory mem = ReadMemory();
    const uint64_t detector_bytes = pipeline.StateBytes();
    pipeline.set_store(nullptr);
    store.reset();
    const uint64_t settled_dir = DirBytes(o.state_dir);
    store = OpenStore(o.state_dir);
    pipeline.set_store(store.get());
    const int64_t n = checkpoint - last_count;
    Emit({{"event", "checkpoint"},
          {"records", checkpoint},
          {"reads", reads},
          {"anomalies", anomalies},
          {"state_bytes_metric", approximate},
          {"dir_bytes_live", live_dir},
          {"dir_bytes_settled", settled_dir},
          {"detector_state_bytes", detector_bytes},
          {"vm_rss_bytes", mem.rss_bytes},
          {"vm_hwm_bytes", mem.hwm_bytes},
          {"ring_bytes", static_cast<uint64_t>(ring) * o.message_size * o.partitions},
          {"pipeline_records_per_s", static_cast<double>(n) / Seconds(busy - last_busy)},
          {"wall_records_per_s", static_cast<double>(n) / Seconds(wall - last_wall)},
          {"elapsed_s", Seconds(wall - start)}});
    last_count = checkpoint;
    last_busy = busy;
    last_wall = Clock::now();
  }
  if (o.mode == "latency") Emit({{"event", "latency"}, {"seconds", latencies}});
  // A state the verifier would leave after its next prune, stored.
  pipeline.PruneAll(0);
  pipeline.StoreAll();
  nlohmann::json positions = nlohmann::json::object();
  hub.WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (const auto& [p, d] : all) positions[std::to_string(p)] = d.position();
  });
  uint64_t lost = 0;
  for (int p = 0; p < o.partitions; ++p) lost += pipeline.Lost(p);
  Emit({{"event", "done"},
        {"records", consumer.produced()},
        {"reads", reads},
        {"lost", lost},
        {"detector_state_bytes", pipeline.StateBytes()},
        {"store_failures", pipeline.store_failures()},
        {"positions", positions}});
  return pipeline.store_failures() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kcanary::bench

int main(int argc, char** argv) {
  return kcanary::bench::Main(kcanary::bench::ParseOptions(argc, argv));
}
