#include "verifier/record_feed.h"

#include <gtest/gtest.h>

#include "proto/record_codec.h"

namespace kcanary {
namespace {

constexpr uint64_t kRun = 0xabc;
constexpr double kNow = 1'700'000'000.0;

// A canary record of `partition` with sequence `seq`, produced `age` seconds
// before kNow, whose summary says sequences [0, acked) were persisted at
// offsets [0, acked).
std::string Record(int32_t partition, int64_t seq, int64_t acked, double age = 0.25) {
  wire::CanaryRecord r;
  r.set_run_id(kRun);
  r.set_partition(partition);
  r.set_sequence(static_cast<uint64_t>(seq));
  r.set_produce_time_us(static_cast<int64_t>((kNow - age) * 1e6));
  if (acked > 0) {
    wire::Outcome* o = r.add_outcomes();
    o->set_first_sequence(0);
    o->set_count(static_cast<uint64_t>(acked));
    o->set_status(wire::PERSISTED);
    o->set_first_offset(0);
  }
  return EncodeRecord(r, 256);
}

TEST(RecordFeedTest, BytesThatAreNotARecordOfThisPartitionAreInvalidByReason) {
  PartitionDetector d(1, DetectorOptions{});
  d.StartAt(0);
  RecordFeed feed;
  EXPECT_FALSE(feed.Feed(d, 1, 0, "not a canary record", kNow));
  EXPECT_FALSE(feed.Feed(d, 1, 1, Record(2, 0, 0), kNow));  // partition 2's record
  std::string damaged = Record(1, 0, 0);
  damaged[30] ^= 0x10;
  EXPECT_FALSE(feed.Feed(d, 1, 2, damaged, kNow));
  const ClassCounts& c = d.counts();
  EXPECT_EQ(c.invalid.at("bad_magic"), 1u);
  EXPECT_EQ(c.invalid.at("partition_mismatch"), 1u);
  EXPECT_EQ(c.invalid.at("bad_checksum"), 1u);
  EXPECT_EQ(c.received, 0u);
}

TEST(RecordFeedTest, AFirstReadGivesTheEndToEndLatency) {
  PartitionDetector d(0, DetectorOptions{});
  d.StartAt(0);
  RecordFeed feed;
  const std::optional<double> latency = feed.Feed(d, 0, 0, Record(0, 0, 0, 0.25), kNow);
  ASSERT_TRUE(latency);
  EXPECT_NEAR(*latency, 0.25, 1e-3);
  EXPECT_EQ(d.counts().received, 1u);
}

// Every record repeats the summary before it, and the feed remembers which
// entries it applied only up to a cap: across many records (the memory
// cleared several times over) every record is still received exactly once
// and nothing is classified wrongly.
TEST(RecordFeedTest, RepeatedSummariesAcrossManyRecordsClassifyNothingWrong) {
  PartitionDetector d(0, DetectorOptions{});
  d.StartAt(0);
  RecordFeed feed;
  constexpr int64_t kRecords = 50'000;
  for (int64_t seq = 0; seq < kRecords; ++seq) {
    // Record `seq` sits at offset `seq` and reports its predecessors acked.
    feed.Feed(d, 0, seq, Record(0, seq, seq), kNow);
  }
  ClassCounts expected;
  expected.received = kRecords;
  EXPECT_EQ(d.counts(), expected);
  EXPECT_EQ(d.Unseen(), 0);
  // The summaries were applied, not skipped: one that reports the next
  // record acked (at the next offset, not read yet) leaves it unseen.
  feed.Feed(d, 0, kRecords, Record(0, kRecords, kRecords + 2), kNow);
  EXPECT_EQ(d.Unseen(), 1);
}

}  // namespace
}  // namespace kcanary
