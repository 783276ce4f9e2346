// How often the canary sends: in rounds, not record by record.
//
// Every round stores the partitions' next sequences (and the outcomes
// reported since the last round) in one state-store write, then hands the
// records owed since the last round to librdkafka. A round per record would
// cost a store write and a wake-up per record: at 64 partitions x 10
// records/s that is most of kcanary's CPU.
//
// A round lasts long enough for ten records in all, so a store write serves
// many records; that part is kept between 1 ms (at the highest rates,
// librdkafka's queue paces the canary) and 100 ms.
//
// Many partitions stretch a round further, up to 2 s: sending to a partition
// whose queue is empty costs about 200 us of CPU however few records go,
// across librdkafka's threads (a broker-thread wake-up, a delivery report, a
// fetch response that reads it back). librdkafka (2.0.2, and 2.8.0 still)
// sends each partition's batch in a produce request of its own, and a broker answers a
// connection's requests one at a time (acks=all: each after replication), so
// a round's records come back to the verifier in a fetch response per
// partition. Measured on the real 3-broker cluster at 64 partitions x 10
// records/s: 14 % of a core with a round every 100 ms, 2.2 % with one a
// second; in later A/B runs (bench/sidecar/ab.py) a round every 2 s cost a
// third less than one a second (1.56 % against 2.33 %). So rounds send to
// at most kPartitionSendsPerSecond partitions a second, yet never bunch more
// than twenty records of one partition (records keep their per-partition
// spacing to within a round; each is stamped when it is sent).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace kcanary {

inline constexpr double kRecordsPerRound = 10;
inline constexpr double kPartitionSendsPerSecond = 32;
inline constexpr double kMaxRecordsPerPartitionRound = 20;
inline constexpr std::chrono::microseconds kMinRound{1'000};
inline constexpr std::chrono::microseconds kMaxSpreadRound{100'000};
inline constexpr std::chrono::microseconds kMaxRound{2'000'000};

/// The interval between send rounds for `rate` records/s on each of
/// `partitions` partitions.
inline std::chrono::microseconds SendRoundInterval(double rate, size_t partitions) {
  const auto count = static_cast<double>(std::max<size_t>(partitions, 1));
  const double total = rate * count;
  if (!(total > 0)) return kMaxSpreadRound;
  const double spread_us =
      std::clamp(kRecordsPerRound / total * 1e6, static_cast<double>(kMinRound.count()),
                 static_cast<double>(kMaxSpreadRound.count()));
  const double partitions_us =
      std::min({count / kPartitionSendsPerSecond * 1e6, kMaxRecordsPerPartitionRound / rate * 1e6,
                static_cast<double>(kMaxRound.count())});
  return std::chrono::microseconds(static_cast<int64_t>(std::max(spread_us, partitions_us)));
}

}  // namespace kcanary
