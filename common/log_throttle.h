// At most one log line per interval for an event that can recur many times a
// second (a full disk, a flood of bad TLS handshakes): the first one is logged
// at once, later ones only when the interval has passed, and the line that is
// logged can say how many were held back since the last. Not thread-safe:
// callers that log from several threads hold their own lock.
#pragma once

#include <chrono>
#include <cstdint>

namespace kcanary {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  /// True if a line may be logged now; `*held_back` is then the number of
  /// events not logged since the last line (and the count starts again).
  bool Admit(Clock::time_point now, uint64_t* held_back) {
    if (logged_once_ && now < next_) {
      ++held_back_;
      return false;
    }
    *held_back = held_back_;
    held_back_ = 0;
    logged_once_ = true;
    next_ = now + interval_;
    return true;
  }

  /// The next event is logged at once, as if it were the first.
  void Reset() {
    logged_once_ = false;
    held_back_ = 0;
  }

 private:
  const Clock::duration interval_;
  bool logged_once_ = false;
  Clock::time_point next_{};
  uint64_t held_back_ = 0;
};

}  // namespace kcanary
