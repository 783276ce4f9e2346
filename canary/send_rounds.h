// How often the canary sends: in rounds, not record by record.
//
// Every round stores the partitions' next sequences (and the outcomes
// reported since the last round) in one state-store write, then hands the
// records owed since the last round to librdkafka. A round per record would
// cost a store write and a wake-up per record: at 64 partitions x 10
// records/s that is most of kcanary's CPU. A round lasts long enough for ten
// records in all and for one record on each partition, so a store write (whose
// size grows with the partitions written) serves many records; yet a round is
// never longer than 100 ms (records keep their per-partition spacing to within
// a round; their produce time is stamped when they are sent) nor shorter than
// 1 ms (at the highest rates, librdkafka's queue paces the canary).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace kcanary {

inline constexpr double kRecordsPerRound = 10;
inline constexpr std::chrono::microseconds kMinRound{1'000};
inline constexpr std::chrono::microseconds kMaxRound{100'000};

/// The interval between send rounds for `rate` records/s on each of
/// `partitions` partitions.
inline std::chrono::microseconds SendRoundInterval(double rate, size_t partitions) {
  const double total = rate * static_cast<double>(std::max<size_t>(partitions, 1));
  if (!(total > 0)) return kMaxRound;
  const double us = std::max(kRecordsPerRound / total, 1 / rate) * 1e6;
  if (us >= static_cast<double>(kMaxRound.count())) return kMaxRound;
  return std::max(kMinRound, std::chrono::microseconds(static_cast<int64_t>(us)));
}

}  // namespace kcanary
