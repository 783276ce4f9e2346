// Taking what librdkafka hands over (fetched messages, delivery reports) in
// bulk rather than one wake-up at a time.
//
// librdkafka queues the results of one broker response partition by
// partition, and every enqueue wakes a thread waiting on the queue. What a
// canary round sends arrives over a few milliseconds besides: librdkafka
// (2.0.2, and 2.8.0 still) sends each partition's batch in a produce request of its own (64
// requests a second at 64 partitions), so both the canary's delivery reports
// and the fetch responses that carry those records back come one request at
// a time. A thread that took them as they came was woken about 100 times a
// second at 64 partitions x 10 records/s. So a thread whose wait just ended
// gives the rest kHandOverGather to arrive, then takes what is there without
// waiting: about 30 wake-ups a second each, and the sidecar's CPU 2.2 % ->
// 1.7 % of a core. A wait shorter than kHandOverWaited means a backlog (the
// queue was not empty), and there is nothing to gather.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace kcanary {

inline constexpr std::chrono::microseconds kHandOverGather{10'000};
inline constexpr std::chrono::microseconds kHandOverWaited{200};

/// Call when a wait that began at `wait_began` has handed something over.
/// After a real wait (not a backlog) it sleeps kHandOverGather, or `at_most`
/// if that is shorter, and returns true: the caller then takes what arrived
/// without waiting. Returns false at once after a short wait.
inline bool GatherAfterWait(std::chrono::steady_clock::time_point wait_began,
                            std::chrono::steady_clock::duration at_most = kHandOverGather) {
  if (std::chrono::steady_clock::now() - wait_began <= kHandOverWaited) return false;
  std::this_thread::sleep_for(
      std::min<std::chrono::steady_clock::duration>(kHandOverGather, at_most));
  return true;
}

}  // namespace kcanary
