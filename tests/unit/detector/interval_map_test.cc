#include "detector/interval_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace kcanary {
namespace {

// A value that progresses by one per key, like a sequence at consecutive offsets.
struct Seq {
  int64_t base = 0;
  int tag = 0;
  bool operator==(const Seq&) const = default;
  Seq Advanced(int64_t n) const { return {base + n, tag}; }
};

TEST(IntervalMapTest, ConsecutiveValuesCoalesce) {
  IntervalMap<Seq> m;
  for (int64_t k = 100; k < 200; ++k) m.Set(k, Seq{k + 5000, 1});
  EXPECT_EQ(m.run_count(), 1u);
  EXPECT_EQ(m.Get(150)->base, 5150);
  EXPECT_FALSE(m.Get(99));
  EXPECT_FALSE(m.Get(200));
}

TEST(IntervalMapTest, OverwriteSplitsAndRemerges) {
  IntervalMap<Seq> m;
  m.SetRange(0, 10, Seq{0, 1});
  m.Set(5, Seq{99, 2});
  EXPECT_EQ(m.run_count(), 3u);
  EXPECT_EQ(m.Get(4)->base, 4);
  EXPECT_EQ(m.Get(5)->base, 99);
  EXPECT_EQ(m.Get(6)->base, 6);
  m.Set(5, Seq{5, 1});
  EXPECT_EQ(m.run_count(), 1u);
}

TEST(IntervalMapTest, EraseBelowAndRange) {
  IntervalMap<Seq> m;
  m.SetRange(0, 100, Seq{0, 1});
  m.EraseRange(10, 10);
  m.EraseBelow(5);
  EXPECT_EQ(m.min_key(), 5);
  EXPECT_FALSE(m.Get(15));
  EXPECT_EQ(m.Get(20)->base, 20);
  EXPECT_EQ(m.end_key(), 100);
}

// Against a plain std::map on random operations.
TEST(IntervalMapTest, MatchesReferenceModel) {
  std::mt19937 rng(7);
  IntervalMap<Seq> m;
  std::map<int64_t, Seq> ref;
  for (int step = 0; step < 20000; ++step) {
    const int64_t k = rng() % 200;
    const int64_t len = 1 + rng() % 8;
    switch (rng() % 3) {
      case 0: {
        const Seq v{static_cast<int64_t>(rng() % 4) * 100 + k, static_cast<int>(rng() % 2)};
        m.SetRange(k, len, v);
        for (int64_t i = 0; i < len; ++i) ref[k + i] = v.Advanced(i);
        break;
      }
      case 1:
        m.EraseRange(k, len);
        for (int64_t i = 0; i < len; ++i) ref.erase(k + i);
        break;
      default: {
        // Appended at the end, continuing the last run or not (SetRange's
        // fast path).
        if (m.empty() || m.end_key() >= 200) break;
        const int64_t end = m.end_key();
        const Seq v = rng() % 2 ? m.RunAt(end - 1)->At(end) : Seq{end + 7, 1};
        m.SetRange(end, len, v);
        for (int64_t i = 0; i < len; ++i) ref[end + i] = v.Advanced(i);
        break;
      }
    }
    for (int64_t q = 0; q < 210; ++q) {
      auto got = m.Get(q);
      auto it = ref.find(q);
      ASSERT_EQ(got.has_value(), it != ref.end()) << "key " << q << " step " << step;
      if (got) {
        ASSERT_EQ(*got, it->second);
      }
    }
  }
  // Maximal coalescing: no two adjacent runs continue each other.
  std::optional<IntervalMap<Seq>::Run> prev;
  m.ForEachRun([&](const IntervalMap<Seq>::Run& r) {
    if (prev && prev->end() == r.start) {
      EXPECT_FALSE(prev->At(r.start) == r.first);
    }
    prev = r;
  });
}

}  // namespace
}  // namespace kcanary
