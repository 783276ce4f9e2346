// The detector on hand-built event histories: every class of SPEC §2, the
// worked unclean-election example in both orders, restarts at every point of a
// history, and bounded state.
#include "detector/partition_detector.h"

#include <gtest/gtest.h>

#include "state.pb.h"

namespace kcanary {
namespace {

constexpr uint64_t kRun = 0xA1;
constexpr uint64_t kOtherRun = 0xB2;

DeliveryOutcome Acked(int64_t offset) { return {Delivery::kPersisted, offset, "", -1}; }
DeliveryOutcome NotPersisted(const std::string& error, int64_t fence) {
  return {Delivery::kNotPersisted, -1, error, fence};
}
DeliveryOutcome Possibly(const std::string& error, int64_t fence) {
  return {Delivery::kPossibly, -1, error, fence};
}

DetectorOptions SmallMargin() {
  DetectorOptions o;
  o.rewind_margin = 10;
  return o;
}

class DetectorTest : public ::testing::Test {
 protected:
  PartitionDetector d_{0, SmallMargin()};

  void SetUp() override { d_.StartAt(0); }

  // Records seq_first.. at offsets first.., each read once.
  void ReadRange(int64_t first_offset, int64_t count, int64_t first_seq, uint64_t run = kRun) {
    for (int64_t i = 0; i < count; ++i) {
      ASSERT_FALSE(d_.OnRecord(first_offset + i, run, first_seq + i).ignored)
          << "offset " << first_offset + i;
    }
  }
  void AckRange(int64_t first_offset, int64_t count, int64_t first_seq, uint64_t run = kRun) {
    for (int64_t i = 0; i < count; ++i) {
      d_.OnOutcome(run, first_seq + i, 1, Acked(first_offset + i));
    }
  }
  // A consumer reading `log` (the seq at each offset) from the position on,
  // performing every seek asked for, until it has read to the end.
  void ReadLogAsConsumer(const std::vector<int64_t>& log) {
    for (int pass = 0; pass < 10; ++pass) {
      if (d_.seek_pending()) d_.OnSeekDone();
      bool stopped = false;
      for (int64_t o = d_.position(); o < static_cast<int64_t>(log.size()) && !stopped; ++o) {
        stopped = d_.OnRecord(o, kRun, log[o]).ignored;
      }
      if (!d_.seek_pending()) return;
    }
    FAIL() << "the detector kept asking for re-reads";
  }
  // The consumer performs the seek the detector asked for.
  void Seek() {
    ASSERT_TRUE(d_.seek_pending());
    d_.OnSeekDone();
  }
  const ClassCounts& c() const { return d_.counts(); }
};

// Only anomalies are compared; received and redelivered are observations.
void ExpectNoAnomaly(const ClassCounts& c) {
  EXPECT_EQ(c.lost, 0u);
  EXPECT_EQ(c.expired, 0u);
  EXPECT_EQ(c.duplicated, 0u);
  EXPECT_EQ(c.reordered, 0u);
  EXPECT_EQ(c.offset_inconsistencies, 0u);
  EXPECT_EQ(c.unexpected, 0u);
  EXPECT_TRUE(c.not_committed.empty());
  EXPECT_TRUE(c.indeterminate.empty());
  EXPECT_TRUE(c.invalid.empty());
  EXPECT_EQ(c.recovered, 0u);
  EXPECT_EQ(c.failed_but_visible, 0u);
}

TEST_F(DetectorTest, AckBeforeReadIsVerified) {
  AckRange(0, 100, 0);
  EXPECT_EQ(d_.Unseen(), 100);
  ReadRange(0, 100, 0);
  EXPECT_EQ(c().received, 100u);
  EXPECT_EQ(d_.Unseen(), 0);
  ExpectNoAnomaly(c());
  EXPECT_FALSE(d_.seek_pending());
}

TEST_F(DetectorTest, AckAfterReadIsVerified) {
  ReadRange(0, 100, 0);
  d_.OnOutcome(kRun, 0, 100, Acked(0));  // an in-band summary covering all of them
  EXPECT_EQ(c().received, 100u);
  EXPECT_EQ(d_.Unseen(), 0);
  ExpectNoAnomaly(c());
  EXPECT_FALSE(d_.seek_pending());
}

TEST_F(DetectorTest, UnreadCommittedRecordsAreUnseenNotLost) {
  AckRange(0, 10, 0);
  ReadRange(0, 4, 0);
  EXPECT_EQ(d_.Unseen(), 6);
  EXPECT_EQ(c().lost, 0u);
}

TEST_F(DetectorTest, SequenceGapAloneIsNeverLoss) {
  ReadRange(0, 3, 0);
  d_.OnRecord(3, kRun, 5);  // seqs 3 and 4: outcome unknown
  ReadRange(4, 3, 6);
  EXPECT_EQ(c().lost, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(c().reordered, 0u);
}

TEST_F(DetectorTest, RedundantOutcomesAreIdempotent) {
  AckRange(0, 50, 0);
  ReadRange(0, 50, 0);
  for (int i = 0; i < 5; ++i) d_.OnOutcome(kRun, 0, 50, Acked(0));
  AckRange(0, 50, 0);
  EXPECT_EQ(c().received, 50u);
  ExpectNoAnomaly(c());
}

// SPEC §2 worked example, verifier ahead: it read seqs 1-100 at offsets 0-99
// from the old leader; the stale replica ends at 79 (offsets 0-79); seqs
// 101-120 are acked at offsets 80-99 and the verifier next sees seq 121.
TEST_F(DetectorTest, UncleanElectionVerifierAhead) {
  AckRange(0, 100, 1);
  ReadRange(0, 100, 1);
  ExpectNoAnomaly(c());
  AckRange(80, 20, 101);  // the new leader's acks disagree with offsets 80-99
  Seek();
  EXPECT_EQ(d_.position(), 70);  // rewind margin 10 below the first disagreement
  ReadRange(70, 10, 71);         // unchanged prefix
  ReadRange(80, 20, 101);        // what the log holds now
  d_.OnOutcome(kRun, 121, 1, Acked(100));
  ReadRange(100, 1, 121);
  EXPECT_EQ(c().lost, 20u);  // seqs 81-100
  EXPECT_EQ(c().offset_inconsistencies, 20u);
  EXPECT_EQ(c().received, 121u);  // 1-100 first, then 101-121
  EXPECT_EQ(c().reordered, 0u);
  EXPECT_EQ(c().duplicated, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// Same history, verifier behind: it reaches offset 80 only after the election
// and reads the new log directly, while the old leader's acks for seqs 81-100
// name offsets 80-99.
TEST_F(DetectorTest, UncleanElectionVerifierBehind) {
  AckRange(0, 100, 1);  // old leader's acks, incl. seqs 81-100 at 80-99
  ReadRange(0, 80, 1);
  d_.OnRecord(80, kRun, 101);  // disagrees with the ack of seq 81
  Seek();
  ReadRange(70, 10, 71);
  ReadRange(80, 20, 101);
  AckRange(80, 20, 101);  // the new leader's acks arrive late
  ReadRange(100, 1, 121);
  d_.OnOutcome(kRun, 121, 1, Acked(100));
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(c().offset_inconsistencies, 20u);
  EXPECT_EQ(c().received, 101u);  // 1-80 and 101-121: 81-100 were never read
  EXPECT_EQ(c().reordered, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// Truncation found through an out-of-range position: the log end fell below
// what the verifier read; what is written there next replaces it.
TEST_F(DetectorTest, TruncationBelowPositionFoundOnOutOfRange) {
  AckRange(0, 100, 0);
  ReadRange(0, 100, 0);
  EXPECT_EQ(d_.OnOffsetOutOfRange(0, 80), 70);
  d_.OnSeekDone();
  ReadRange(70, 10, 70);
  ReadRange(80, 5, 100);  // new records where seqs 80-84 were
  AckRange(80, 5, 100);
  EXPECT_EQ(c().lost, 5u);
  EXPECT_EQ(c().offset_inconsistencies, 5u);
  ReadRange(85, 15, 105);
  AckRange(85, 15, 105);
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(c().received, 120u);
}

// KIP-320: the consumer's leader-epoch validation names the divergence
// point (offset 80) right after the election of the stale replica. The
// records read at 80-99 are lost at once, before anything is re-read, and
// the re-read starts at 80 exactly.
TEST_F(DetectorTest, TruncationEventLosesTheReadRecordsAtOnce) {
  AckRange(0, 100, 1);
  ReadRange(0, 100, 1);
  EXPECT_EQ(d_.OnLogTruncated(80), 80);
  EXPECT_EQ(c().lost, 20u);  // seqs 81-100
  EXPECT_EQ(c().offset_inconsistencies, 20u);
  Seek();
  EXPECT_EQ(d_.position(), 80);
  ReadRange(80, 20, 101);  // what the new leader holds there now
  AckRange(80, 20, 101);
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(c().offset_inconsistencies, 20u);
  EXPECT_EQ(c().received, 120u);
  EXPECT_EQ(c().duplicated + c().reordered + c().unexpected, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// The new leader's acks can reach the detector before the consumer's
// validation does: they name the same offsets as the truncated reads. The
// records they name are in the log, and must end verified.
TEST_F(DetectorTest, TruncationEventAfterTheNewLeadersAcks) {
  AckRange(0, 100, 1);
  ReadRange(0, 100, 1);
  AckRange(80, 20, 101);  // disagree with the reads at 80-99: a rewind is asked for
  d_.OnLogTruncated(80);
  EXPECT_EQ(c().lost, 20u);
  Seek();
  EXPECT_EQ(d_.position(), 70);  // the earlier request's margin still applies
  ReadRange(70, 10, 71);
  ReadRange(80, 20, 101);
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(c().offset_inconsistencies, 20u);
  EXPECT_EQ(c().received, 120u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// Acked records the verifier had not read yet when the log was truncated
// (offsets 100-109) are judged by the re-read: the new log holds other
// records there.
TEST_F(DetectorTest, TruncationEventThenAcksAheadOfTheReadsAreJudgedByTheReRead) {
  AckRange(0, 110, 0);
  ReadRange(0, 100, 0);
  d_.OnLogTruncated(80);
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(d_.Unseen(), 10);  // not provable until the log reaches them
  Seek();
  ReadRange(80, 30, 110);  // seqs 110-139 at 80-109
  AckRange(80, 30, 110);
  EXPECT_EQ(c().lost, 30u);
  EXPECT_EQ(c().offset_inconsistencies, 30u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// Only committed records are lost: read records whose outcome is not known
// yet lose their place but no verdict; a late ack naming a truncated offset
// is then proven by re-reading it.
TEST_F(DetectorTest, TruncationEventJudgesUnackedReadsWhenTheirAckArrives) {
  AckRange(0, 90, 0);
  ReadRange(0, 100, 0);  // seqs 90-99 read, outcome unknown
  d_.OnLogTruncated(80);
  EXPECT_EQ(c().lost, 10u);  // seqs 80-89
  // The log from then on: seqs 0-79 at 0-79, seqs 100-129 at 80-109.
  std::vector<int64_t> log(110);
  for (int64_t o = 0; o < 110; ++o) log[o] = o < 80 ? o : o + 20;
  ReadLogAsConsumer(log);
  AckRange(90, 10, 90);  // the old leader's late reports for seqs 90-99
  ReadLogAsConsumer(log);
  EXPECT_EQ(c().lost, 20u);
  EXPECT_EQ(c().received, 130u);
  EXPECT_EQ(d_.Unseen(), 0);
  EXPECT_EQ(d_.PendingChecks(), 0u);
}

// A record written twice (a non-idempotent retry: offset 50, then 85, acked
// at 85) is still in the log when 85 is truncated: not lost.
TEST_F(DetectorTest, TruncationEventSparesARecordReadElsewhere) {
  AckRange(0, 50, 0);
  ReadRange(0, 51, 0);  // seq 50 at offset 50, its first write
  ReadRange(51, 34, 51);
  d_.OnRecord(85, kRun, 50);  // the retry's copy
  d_.OnOutcome(kRun, 50, 1, Acked(85));
  AckRange(51, 34, 51);
  EXPECT_EQ(c().duplicated, 1u);
  d_.OnLogTruncated(80);
  EXPECT_EQ(c().lost, 5u);  // seqs 80-84; seq 50 is still at offset 50
  EXPECT_EQ(c().offset_inconsistencies, 6u);
}

TEST_F(DetectorTest, TruncationEventAtOrAboveThePositionChangesNothing) {
  AckRange(0, 50, 0);
  ReadRange(0, 50, 0);
  EXPECT_EQ(d_.OnLogTruncated(50), 50);
  EXPECT_EQ(d_.OnLogTruncated(70), 50);
  Seek();  // the consumer stopped the partition: it resumes where it was
  ReadRange(50, 10, 50);
  AckRange(50, 10, 50);
  ExpectNoAnomaly(c());
  EXPECT_EQ(c().received, 60u);
}

// A truncation of many records costs one pass per run of reads, not per
// record: 10^6 records read, then the log truncated at 0.
TEST(DetectorTruncationTest, LargeTruncationIsOneStep) {
  PartitionDetector d(0, DetectorOptions{});
  d.StartAt(0);
  constexpr int64_t kRecords = 1'000'000;
  d.OnOutcome(kRun, 0, kRecords, Acked(0));
  for (int64_t i = 0; i < kRecords; ++i) d.OnRecord(i, kRun, i);
  d.OnLogTruncated(0);
  EXPECT_EQ(d.counts().lost, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(d.counts().offset_inconsistencies, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(d.position(), 0);
  EXPECT_LE(d.ReadRuns(), 1u);
}

TEST_F(DetectorTest, ExpiredBeforeRead) {
  AckRange(0, 100, 0);
  ReadRange(0, 10, 0);
  EXPECT_EQ(d_.OnOffsetOutOfRange(50, 100), 50);
  d_.OnSeekDone();
  ReadRange(50, 50, 50);
  EXPECT_EQ(c().expired, 40u);
  EXPECT_EQ(c().received, 60u);
  EXPECT_EQ(c().lost, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
}

TEST_F(DetectorTest, ExpiredLearnedFromLaterSummary) {
  ReadRange(0, 10, 0);
  d_.OnOffsetOutOfRange(50, 100);
  d_.OnSeekDone();
  d_.OnRecord(50, kRun, 50);
  d_.OnOutcome(kRun, 0, 50, Acked(0));  // summary in seq 50's record
  EXPECT_EQ(c().expired, 40u);
  EXPECT_EQ(c().lost, 0u);
}

TEST_F(DetectorTest, NotCommittedSettlesOncePastTheFence) {
  AckRange(0, 5, 0);
  d_.OnOutcome(kRun, 5, 1, NotPersisted("MSG_SIZE_TOO_LARGE", 7));
  d_.OnOutcome(kRun, 6, 3, Acked(5));
  ReadRange(0, 5, 0);
  ReadRange(5, 2, 6);  // seqs 6,7: not beyond the fence yet
  EXPECT_TRUE(c().not_committed.empty());
  ReadRange(7, 1, 8);
  EXPECT_EQ(c().not_committed.at("MSG_SIZE_TOO_LARGE"), 1u);
  EXPECT_EQ(c().lost, 0u);
  EXPECT_EQ(c().received, 8u);
}

TEST_F(DetectorTest, IndeterminateWhenNeverSeen) {
  d_.OnOutcome(kRun, 0, 1, Possibly("REQUEST_TIMED_OUT", 0));
  AckRange(0, 3, 1);
  ReadRange(0, 3, 1);
  EXPECT_EQ(c().indeterminate.at("REQUEST_TIMED_OUT"), 1u);
  EXPECT_EQ(c().recovered, 0u);
  EXPECT_EQ(c().lost, 0u);
}

TEST_F(DetectorTest, RecoveredWhenPossiblyPersistedIsRead) {
  d_.OnOutcome(kRun, 0, 1, Possibly("REQUEST_TIMED_OUT", 0));
  d_.OnOutcome(kRun, 1, 2, Acked(1));
  ReadRange(0, 3, 0);
  EXPECT_EQ(c().recovered, 1u);
  EXPECT_TRUE(c().indeterminate.empty());
}

TEST_F(DetectorTest, RecoveredWhenReadBeforeOutcome) {
  ReadRange(0, 3, 0);
  d_.OnOutcome(kRun, 0, 1, Possibly("_MSG_TIMED_OUT", 0));
  EXPECT_EQ(c().recovered, 1u);
}

TEST_F(DetectorTest, FailedButVisible) {
  d_.OnOutcome(kRun, 0, 1, NotPersisted("NOT_LEADER_FOR_PARTITION", 2));
  ReadRange(0, 4, 0);
  EXPECT_EQ(c().failed_but_visible, 1u);
  EXPECT_TRUE(c().not_committed.empty());
}

TEST_F(DetectorTest, CanaryRestartInDoubtThenAcked) {
  // A restarted canary marks in-doubt sequences possibly persisted; the real
  // ack, carried in an older record's summary, still wins.
  d_.OnOutcome(kRun, 0, 5, Possibly("canary_restart", 10));
  d_.OnOutcome(kRun, 0, 5, Acked(0));
  ReadRange(0, 12, 0);
  ExpectNoAnomaly(c());
}

TEST_F(DetectorTest, DuplicatedAtTwoOffsets) {
  // seq 5 written at offset 5, retried and written again at 6 (acked there).
  AckRange(0, 5, 0);
  d_.OnOutcome(kRun, 5, 1, Acked(6));
  AckRange(7, 3, 6);
  ReadRange(0, 6, 0);
  d_.OnRecord(6, kRun, 5);
  ReadRange(7, 3, 6);
  EXPECT_EQ(c().duplicated, 1u);
  EXPECT_EQ(c().received, 9u);
  EXPECT_EQ(c().lost, 0u);
  EXPECT_EQ(c().offset_inconsistencies, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
}

TEST_F(DetectorTest, RedeliveredIsNotAnAnomaly) {
  AckRange(0, 10, 0);
  ReadRange(0, 10, 0);
  ReadRange(5, 5, 5);  // a rebalance replays offsets 5-9
  EXPECT_EQ(c().redelivered, 5u);
  EXPECT_EQ(c().received, 10u);
  ExpectNoAnomaly(c());
}

TEST_F(DetectorTest, ReorderedCountsTheLateLowerSequence) {
  // seq 2's batch failed and was retried after seqs 3 and 4 landed.
  d_.OnOutcome(kRun, 0, 2, Acked(0));
  d_.OnOutcome(kRun, 3, 2, Acked(2));
  d_.OnOutcome(kRun, 2, 1, Acked(4));
  d_.OnRecord(0, kRun, 0);
  d_.OnRecord(1, kRun, 1);
  d_.OnRecord(2, kRun, 3);
  d_.OnRecord(3, kRun, 4);
  d_.OnRecord(4, kRun, 2);
  EXPECT_EQ(c().reordered, 1u);
  EXPECT_EQ(c().duplicated, 0u);
  EXPECT_EQ(c().lost, 0u);
  EXPECT_EQ(d_.Unseen(), 0);
}

TEST_F(DetectorTest, OffsetInconsistencyOnReread) {
  ReadRange(0, 10, 0);
  d_.OnRecord(5, kOtherRun, 0);  // offset 5 now holds another record
  EXPECT_EQ(c().offset_inconsistencies, 1u);
  EXPECT_EQ(c().lost, 0u);  // seq 5 had no ack: not provably committed
}

TEST_F(DetectorTest, InvalidBytesAreCountedByReason) {
  d_.OnInvalid(0, "bad_magic");
  d_.OnInvalid(1, "bad_checksum");
  d_.OnInvalid(2, "bad_magic");
  d_.OnInvalid(2, "bad_magic");  // redelivery does not count twice
  ReadRange(3, 2, 0);
  EXPECT_EQ(c().invalid.at("bad_magic"), 2u);
  EXPECT_EQ(c().invalid.at("bad_checksum"), 1u);
  EXPECT_EQ(c().received, 2u);
}

TEST_F(DetectorTest, GarbageWhereACommittedRecordWasAckedIsLoss) {
  AckRange(0, 3, 0);
  ReadRange(0, 2, 0);
  d_.OnInvalid(2, "undecodable");  // the ack says seq 2 is here
  Seek();
  ReadRange(0, 2, 0);
  d_.OnInvalid(2, "undecodable");
  EXPECT_EQ(c().lost, 1u);
  EXPECT_EQ(c().offset_inconsistencies, 1u);
}

TEST_F(DetectorTest, UnexpectedSequenceOfOwnRun) {
  d_.OnSent(kRun, 9);
  ReadRange(0, 10, 0);
  d_.OnRecord(10, kRun, 50);
  EXPECT_EQ(c().unexpected, 1u);
  EXPECT_EQ(c().received, 10u);
  d_.OnRecord(11, kOtherRun, 50);  // unknown runs are learned, not unexpected
  EXPECT_EQ(c().unexpected, 1u);
}

TEST_F(DetectorTest, AcksBelowTheWindowAreNotJudged) {
  PartitionDetector d(0, SmallMargin());
  d.StartAt(1000);
  d.OnOutcome(kRun, 0, 1000, Acked(0));  // history from before this verifier
  d.OnOutcome(kRun, 1000, 10, Acked(1000));
  for (int i = 0; i < 10; ++i) d.OnRecord(1000 + i, kRun, 1000 + i);
  ExpectNoAnomaly(d.counts());
  EXPECT_EQ(d.Unseen(), 0);
}

TEST(DetectorStartTest, AcksBeforeStartBelowItAreNotJudged) {
  PartitionDetector d(0, SmallMargin());
  d.OnSent(kRun, 9);
  d.OnOutcome(kRun, 0, 5, Acked(0));  // the canary saw the partition first
  d.OnOutcome(kRun, 5, 5, Acked(5));
  d.StartAt(5);
  for (int i = 5; i < 10; ++i) d.OnRecord(i, kRun, i);
  ExpectNoAnomaly(d.counts());
  EXPECT_EQ(d.counts().received, 5u);
  EXPECT_EQ(d.Unseen(), 0);
  EXPECT_FALSE(d.seek_pending());
}

TEST_F(DetectorTest, HealthyStateStaysSmall) {
  PartitionDetector d(0, DetectorOptions{});
  d.StartAt(0);
  for (int64_t i = 0; i < 1'000'000; ++i) {
    d.OnOutcome(kRun, i, 1, Acked(i));
    d.OnRecord(i, kRun, i);
    if (i % 100'000 == 0) d.Prune(0);
  }
  d.Prune(0);
  EXPECT_EQ(d.counts().received, 1'000'000u);
  ExpectNoAnomaly(d.counts());
  EXPECT_LE(d.ReadRuns(), 1u);
  state::PartitionState st;
  d.SaveTo(&st);
  EXPECT_LT(st.ByteSizeLong(), 200u);
}

// Every prefix of a history, saved and loaded, then continued, ends with the
// same counts as the uninterrupted run: a restart never adds or hides a verdict.
TEST(DetectorRestartTest, SaveLoadAtEveryStepKeepsVerdicts) {
  using Step = std::function<void(PartitionDetector&)>;
  std::vector<Step> history;
  auto ack = [&](int64_t seq, int64_t offset) {
    history.push_back([=](PartitionDetector& d) { d.OnOutcome(kRun, seq, 1, Acked(offset)); });
  };
  auto read = [&](int64_t offset, int64_t seq) {
    history.push_back([=](PartitionDetector& d) { d.OnRecord(offset, kRun, seq); });
  };
  for (int i = 0; i < 20; ++i) ack(i, i);
  for (int i = 0; i < 20; ++i) read(i, i);
  history.push_back(
      [](PartitionDetector& d) { d.OnOutcome(kRun, 20, 1, Possibly("REQUEST_TIMED_OUT", 20)); });
  for (int i = 21; i < 26; ++i) ack(i, i - 1);
  for (int i = 21; i < 26; ++i) read(i - 1, i);
  for (int i = 26; i < 30; ++i) ack(i, i - 1);  // 25..28 will be truncated
  for (int i = 26; i < 30; ++i) read(i - 1, i);
  history.push_back([](PartitionDetector& d) {
    if (d.OnOffsetOutOfRange(0, 25) >= 0) d.OnSeekDone();
  });
  for (int i = 15; i < 25; ++i) read(i, i < 20 ? i : i + 1);
  for (int i = 40; i < 45; ++i) ack(i, i - 15);
  for (int i = 40; i < 45; ++i) read(i - 15, i);

  auto run = [&](std::optional<size_t> cut) {
    PartitionDetector d(0, SmallMargin());
    d.StartAt(0);
    for (size_t i = 0; i < history.size(); ++i) {
      if (cut && i == *cut) {
        state::PartitionState st;
        d.SaveTo(&st);
        PartitionDetector fresh(0, SmallMargin());
        EXPECT_TRUE(fresh.LoadFrom(st).ok());
        d = std::move(fresh);
        if (d.seek_pending()) d.OnSeekDone();
      }
      history[i](d);
      if (d.seek_pending()) d.OnSeekDone();
    }
    return d.counts();
  };
  const ClassCounts whole = run(std::nullopt);
  EXPECT_EQ(whole.lost, 4u);  // seqs 26-29, acked at 25-28, truncated
  EXPECT_EQ(whole.recovered + whole.indeterminate.size(), 1u);
  for (size_t cut = 0; cut < history.size(); ++cut) {
    const ClassCounts resumed = run(cut);
    EXPECT_EQ(resumed.lost, whole.lost) << "cut at " << cut;
    EXPECT_EQ(resumed.received, whole.received) << "cut at " << cut;
    EXPECT_EQ(resumed.offset_inconsistencies, whole.offset_inconsistencies) << "cut at " << cut;
    EXPECT_EQ(resumed.indeterminate, whole.indeterminate) << "cut at " << cut;
    EXPECT_EQ(resumed.duplicated, whole.duplicated) << "cut at " << cut;
    EXPECT_EQ(resumed.reordered, whole.reordered) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace kcanary
