// Command-line options of kcanary-bench-state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kcanary::bench {

struct Options {
  // "state": healthy traffic (plus a sprinkle of anomalies), footprint at checkpoints.
  // "latency": losses at fixed spacing, time from the proof's batch to the lost counter.
  // "build": duplicate storm, leaves a large verifier state for the restart benchmark.
  std::string mode = "state";
  std::string state_dir;
  std::string state_namespace = "kcanary-bench";  // the topic `kcanary verify -t` names
  int partitions = 16;
  int64_t records = 10'000'000;        // new sequences over all partitions
  std::vector<int64_t> checkpoints;    // default: 1e6, 1e7, 1e8 up to `records`
  size_t batch = 10'000;               // VerifierOptions::batch_max
  size_t chunk = 4096;                 // records per partition per fetch
  bool live = false;                   // a caught-up verifier (consumer.h)
  size_t message_size = 256;           // --message-size default
  int64_t prune_interval_ms = 10'000;  // VerifierOptions::prune_interval
  double loss_per_million = 0;         // state: random losses
  double dup_per_million = 0;          // state: random duplicates
  int64_t loss_every = 20'000;         // latency: one loss per this many sequences
  int64_t dup_every = 3;               // build: one duplicate per this many sequences
  uint64_t seed = 1;
};

/// Parses argv; on a bad flag prints why and exits 2.
Options ParseOptions(int argc, char** argv);

}  // namespace kcanary::bench
