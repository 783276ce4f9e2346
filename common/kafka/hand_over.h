// Taking what librdkafka hands over (fetched messages, delivery reports) in
// bulk rather than one wake-up at a time.
//
// librdkafka queues the results of one broker response partition by
// partition, and every enqueue wakes a thread waiting on the queue. A thread
// that takes one partition's share per wake-up goes back to sleep only to be
// woken again microseconds later: at 64 partitions that was a third of the
// verifier's wake-ups. So a thread whose wait just ended gives the rest of the
// response kHandOverGather to arrive, then takes it without waiting. A wait
// shorter than kHandOverWaited means a backlog (the queue was not empty), and
// there is nothing to gather. (The canary's delivery reports do not come in
// bulk: librdkafka 2.0.2 sends each partition's batch in a produce request of
// its own, so it does not gather.)
#pragma once

#include <chrono>

namespace kcanary {

inline constexpr std::chrono::microseconds kHandOverGather{1'000};
inline constexpr std::chrono::microseconds kHandOverWaited{200};

}  // namespace kcanary
