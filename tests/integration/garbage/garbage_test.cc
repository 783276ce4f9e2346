// Bytes in the canary topic that are not canary records (SPEC §2 invalid and
// unexpected): another producer writes them between the canary's records;
// each is counted once under its reason, the canary's own records are still
// judged correctly, and nothing is reported lost.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <random>

#include "app/embedded_cluster.h"
#include "app/service.h"
#include "proto/record_codec.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 3;
constexpr double kRate = 200;
const std::string kTopic = "kcanary-garbage";

std::string ValidRecord(uint64_t run_id, int32_t partition, uint64_t seq) {
  wire::CanaryRecord r;
  r.set_run_id(run_id);
  r.set_partition(partition);
  r.set_sequence(seq);
  r.set_produce_time_us(1);
  return EncodeRecord(r, 120);
}

// Envelope with an arbitrary body, magic and version, and a correct CRC.
std::string Framed(std::string_view magic, uint8_t version, const std::string& body) {
  const auto crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  std::string v(magic);
  v.push_back(static_cast<char>(version));
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<char>(crc >> shift));
  return v + body;
}

class GarbageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3, kTopic, kPartitions);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
    Config config =
        MakeConfig(Command::kRun, cluster_->bootstrap(), kTopic, dir_.Sub("state"), kRate);
    auto service = Service::Start(config);
    ASSERT_TRUE(service.ok()) << service.status().message();
    service_ = std::move(*service);
    ASSERT_TRUE(WaitUntil([&] { return Totals(service_->hub()).received >= 100; }, 20s));
  }

  // Stops the service, then lets a verifier alone read what it left unread
  // (Stop gives the verifier only a moment after the canary drains).
  void StopAndCatchUp() {
    service_->Stop();
    final_ = CatchUp(cluster_->bootstrap(), kTopic, dir_.Sub("state"));
    ASSERT_TRUE(final_);
  }
  DetectorHub& Final() { return final_->hub(); }

  TempDir dir_;
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Service> final_;  // the caught-up verifier, after Stop
};

TEST_F(GarbageTest, ForeignBytesAreInvalidByReasonAndNothingIsLost) {
  const nlohmann::json status = nlohmann::json::parse(service_->StatusJson());
  const uint64_t own_run = std::stoull(status["canary_run"].get<std::string>(), nullptr, 16);
  ASSERT_NE(own_run, 0u);

  std::mt19937 rng(7);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    s[0] = 'x';  // never the magic
    return s;
  };
  const std::map<std::string, uint64_t> want_invalid = {
      {"bad_magic", 3},    {"too_short", 2},   {"unknown_version", 1},
      {"bad_checksum", 2}, {"undecodable", 1}, {"partition_mismatch", 1},
  };
  for (int32_t p = 0; p < kPartitions; ++p) {
    const std::string valid = ValidRecord(0x1234, p, 5);
    std::string flipped = valid;
    flipped.back() = static_cast<char>(flipped.back() ^ 0x5a);
    const std::vector<std::string> garbage = {
        random_bytes(64),                                    // bad_magic
        random_bytes(300),                                   // bad_magic
        "KCNX" + valid.substr(4),                            // bad_magic (wrong magic)
        "KCN",                                               // too_short
        "",                                                  // too_short (empty value)
        Framed("KCNY", 9, valid.substr(kEnvelopeSize)),      // unknown_version
        valid.substr(0, 30),                                 // bad_checksum (truncated)
        flipped,                                             // bad_checksum
        Framed("KCNY", kWireSchemaVersion, "\x07\x01\x02"),  // undecodable
        ValidRecord(0x1234, (p + 1) % kPartitions, 5),       // partition_mismatch
        // A well-formed record of this canary's own run that it never
        // produced: not invalid but unexpected.
        ValidRecord(own_run, p, 1'000'000'000),
    };
    ASSERT_EQ(ProduceRaw(cluster_->bootstrap(), kTopic, p, garbage),
              static_cast<int>(garbage.size()));
  }

  // Each piece is counted once under its reason, on its partition.
  auto all_counted = [&] {
    for (int32_t p = 0; p < kPartitions; ++p) {
      const ClassCounts c = CountsOf(service_->hub(), p);
      if (c.invalid != want_invalid || c.unexpected < 1) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitUntil(all_counted, 20s)) << Describe(Totals(service_->hub()));
  // The canary goes on and its records keep being judged.
  const uint64_t before = Totals(service_->hub()).received;
  ASSERT_TRUE(WaitUntil([&] { return Totals(service_->hub()).received >= before + 300; }, 20s));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  for (int32_t p = 0; p < kPartitions; ++p) {
    const ClassCounts c = CountsOf(Final(), p);
    EXPECT_EQ(c.invalid, want_invalid) << "partition " << p << ": " << Describe(c);
    EXPECT_EQ(c.unexpected, 1u) << Describe(c);
    EXPECT_EQ(c.lost, 0u) << Describe(c);
    EXPECT_EQ(c.offset_inconsistencies, 0u) << Describe(c);
    EXPECT_EQ(c.duplicated, 0u) << Describe(c);
    EXPECT_EQ(c.reordered, 0u) << Describe(c);
    EXPECT_TRUE(c.not_committed.empty() && c.indeterminate.empty()) << Describe(c);
  }
  service_->SyncMetrics();
  const std::vector<Sample> samples = ParseMetrics(service_->metrics().Serialize());
  for (const auto& [reason, n] : want_invalid) {
    EXPECT_EQ(SumOf(samples, "kcanary_records_invalid_total", {{"reason", reason}}),
              static_cast<double>(n * kPartitions))
        << reason;
  }
  EXPECT_EQ(SumOf(samples, "kcanary_records_unexpected_total"), kPartitions);
  EXPECT_EQ(SumOf(samples, "kcanary_messages_lost_total"), 0);
  CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
}

}  // namespace
}  // namespace kcanary::it
