// IntervalMap: a run-length-encoded map from int64 keys to values that
// progress with the key.
//
// The detector's state is mostly arithmetic progressions: offsets 100..199
// hold sequences 5000..5099 of one run; sequences 5000..5099 were acked at
// offsets 100..199. Storing one entry per record would make memory grow with
// the number of records; storing runs keeps a healthy partition at a handful of
// entries however long kcanary runs, and grows only with anomalies.
//
// A value type V provides:
//   bool operator==(const V&) const;
//   V Advanced(int64_t n) const;   // the value n keys further on
// The value at key k of a run [start, start+length) is first.Advanced(k-start).
// Adjacent runs whose values continue each other are merged.
//
//   IntervalMap<RecordRef> reads;
//   reads.Set(100, RecordRef{stream, 5000});
//   reads.Set(101, RecordRef{stream, 5001});   // still one run
//   reads.Get(101)->seq == 5001;
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>

namespace kcanary {

template <typename V>
class IntervalMap {
 public:
  struct Run {
    int64_t start;
    int64_t length;
    V first;
    int64_t end() const { return start + length; }
    V At(int64_t key) const { return first.Advanced(key - start); }
  };

  bool empty() const { return runs_.empty(); }
  size_t run_count() const { return runs_.size(); }
  int64_t min_key() const { return runs_.begin()->first; }
  int64_t end_key() const {
    auto last = std::prev(runs_.end());
    return last->first + last->second.length;
  }

  std::optional<V> Get(int64_t key) const {
    auto it = Containing(key);
    if (it == runs_.end()) return std::nullopt;
    return it->second.first.Advanced(key - it->first);
  }

  /// The run containing `key`, if any.
  std::optional<Run> RunAt(int64_t key) const {
    auto it = Containing(key);
    if (it == runs_.end()) return std::nullopt;
    return Run{it->first, it->second.length, it->second.first};
  }

  void Set(int64_t key, const V& value) { SetRange(key, 1, value); }

  /// Sets keys [start, start+length) to first, first.Advanced(1), ...
  void SetRange(int64_t start, int64_t length, const V& first) {
    if (length <= 0) return;
    // The steady state: the next record continues the last run. Extending it
    // in place is what erasing nothing, inserting and coalescing would do,
    // without allocating and freeing a node per record.
    if (!runs_.empty()) {
      auto last = std::prev(runs_.end());
      if (Continues(*last, start, first)) {
        last->second.length += length;
        return;
      }
    }
    EraseRange(start, length);
    auto it = runs_.emplace(start, Entry{length, first}).first;
    Coalesce(it);
  }

  void Erase(int64_t key) { EraseRange(key, 1); }

  void EraseRange(int64_t start, int64_t length) {
    if (length <= 0) return;
    const int64_t end = start + length;
    SplitAt(start);
    SplitAt(end);
    runs_.erase(runs_.lower_bound(start), runs_.lower_bound(end));
  }

  /// Removes every key below `key`.
  void EraseBelow(int64_t key) {
    SplitAt(key);
    runs_.erase(runs_.begin(), runs_.lower_bound(key));
  }

  /// Calls f(Run) for each run overlapping [lo, hi), clipped to it, in key
  /// order. f must not modify the map.
  template <typename F>
  void ForEach(int64_t lo, int64_t hi, F&& f) const {
    if (lo >= hi) return;
    auto it = runs_.upper_bound(lo);
    if (it != runs_.begin()) --it;
    for (; it != runs_.end() && it->first < hi; ++it) {
      const int64_t s = std::max(lo, it->first);
      const int64_t e = std::min(hi, it->first + it->second.length);
      if (s >= e) continue;
      f(Run{s, e - s, it->second.first.Advanced(s - it->first)});
    }
  }

  template <typename F>
  void ForEachRun(F&& f) const {
    for (const auto& [start, entry] : runs_) f(Run{start, entry.length, entry.first});
  }

 private:
  struct Entry {
    int64_t length;
    V first;
  };
  using Map = std::map<int64_t, Entry>;

  typename Map::const_iterator Containing(int64_t key) const {
    auto it = runs_.upper_bound(key);
    if (it == runs_.begin()) return runs_.end();
    --it;
    if (key < it->first + it->second.length) return it;
    return runs_.end();
  }

  // Ensures no run straddles `key`: a run [s, e) with s < key < e becomes
  // [s, key) and [key, e).
  void SplitAt(int64_t key) {
    auto it = runs_.upper_bound(key);
    if (it == runs_.begin()) return;
    --it;
    const int64_t start = it->first;
    const int64_t end = start + it->second.length;
    if (key <= start || key >= end) return;
    it->second.length = key - start;
    runs_.emplace_hint(std::next(it), key,
                       Entry{end - key, it->second.first.Advanced(key - start)});
  }

  // Whether a run starting at `start` with value `first` continues `run`
  // (begins where it ends, with the value it would have there).
  static bool Continues(const typename Map::value_type& run, int64_t start, const V& first) {
    return run.first + run.second.length == start &&
           run.second.first.Advanced(run.second.length) == first;
  }

  void Coalesce(typename Map::iterator it) {
    if (it != runs_.begin()) {
      auto prev = std::prev(it);
      if (Continues(*prev, it->first, it->second.first)) {
        prev->second.length += it->second.length;
        runs_.erase(it);
        it = prev;
      }
    }
    auto next = std::next(it);
    if (next != runs_.end() && Continues(*it, next->first, next->second.first)) {
      it->second.length += next->second.length;
      runs_.erase(next);
    }
  }

  Map runs_;
};

}  // namespace kcanary
