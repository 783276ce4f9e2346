// The three checks on kcanary's own client configs, reported on the canary
// topic's rows.
#include <gtest/gtest.h>

#include "common/audit/checks.h"
#include "tests/unit/audit/audit_facts.h"

namespace kcanary::audit {
namespace {

using testing::Canary;
using testing::SafeInput;

AuditInput WithProducer(std::map<std::string, std::string> producer) {
  AuditInput input = SafeInput();
  input.client.producer = std::move(producer);
  return input;
}

AuditInput WithConsumer(std::map<std::string, std::string> consumer) {
  AuditInput input = SafeInput();
  input.client.consumer = std::move(consumer);
  return input;
}

// --- producer_acks ---

TEST(ProducerAcksTest, AllPasses) {
  const CheckResult row = Canary(SafeInput(), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "acks=all");
}

TEST(ProducerAcksTest, MinusOnePasses) {
  EXPECT_EQ(Canary(WithProducer({{"acks", "-1"}}), "producer_acks").verdict, Verdict::kPass);
}

TEST(ProducerAcksTest, AbsentIsLibrdkafkaDefaultAll) {
  const CheckResult row = Canary(WithProducer({}), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "acks=all (librdkafka default)");
}

TEST(ProducerAcksTest, OneFails) {
  const CheckResult row = Canary(WithProducer({{"acks", "1"}}), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "acks=1");
  EXPECT_NE(row.fix.find("-X canary.acks=all"), std::string::npos) << row.fix;
}

TEST(ProducerAcksTest, ZeroFails) {
  const CheckResult row = Canary(WithProducer({{"acks", "0"}}), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "acks=0");
}

TEST(ProducerAcksTest, AliasRequestRequiredAcksIsJudged) {
  const CheckResult row = Canary(WithProducer({{"request.required.acks", "1"}}), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "request.required.acks=1");
  EXPECT_EQ(Canary(WithProducer({{"request.required.acks", "-1"}}), "producer_acks").verdict,
            Verdict::kPass);
}

TEST(ProducerAcksTest, AnUnsafeAliasIsNotHiddenBySafeAcks) {
  const CheckResult row =
      Canary(WithProducer({{"acks", "all"}, {"request.required.acks", "0"}}), "producer_acks");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "acks=all, request.required.acks=0");
}

// --- producer_retries ---

TEST(ProducerRetriesTest, IdempotencePasses) {
  const CheckResult row = Canary(SafeInput(), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "enable.idempotence=true");
}

TEST(ProducerRetriesTest, IdempotencePassesEvenWithRetriesZero) {
  // librdkafka keeps retrying an idempotent producer's batches regardless.
  EXPECT_EQ(
      Canary(WithProducer({{"enable.idempotence", "true"}, {"retries", "0"}}), "producer_retries")
          .verdict,
      Verdict::kPass);
}

TEST(ProducerRetriesTest, RetriesZeroWithoutIdempotenceFails) {
  const CheckResult row =
      Canary(WithProducer({{"retries", "0"}, {"enable.idempotence", "false"}}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "retries=0, enable.idempotence=false");
  EXPECT_NE(row.fix.find("-X canary.enable.idempotence=true"), std::string::npos) << row.fix;
}

TEST(ProducerRetriesTest, AliasMessageSendMaxRetriesZeroFails) {
  const CheckResult row =
      Canary(WithProducer({{"message.send.max.retries", "0"}}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "message.send.max.retries=0, enable.idempotence=false");
}

TEST(ProducerRetriesTest, PositiveRetriesWithoutIdempotencePass) {
  const CheckResult row = Canary(WithProducer({{"retries", "5"}}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "retries=5, enable.idempotence=false");
}

TEST(ProducerRetriesTest, AbsentRetriesIsLibrdkafkaDefaultAndPasses) {
  const CheckResult row = Canary(WithProducer({}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "retries=2147483647 (librdkafka default), enable.idempotence=false");
}

TEST(ProducerRetriesTest, GarbageRetriesIsUnknown) {
  const CheckResult row = Canary(WithProducer({{"retries", "many"}}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not an integer: retries=\"many\"");
}

TEST(ProducerRetriesTest, GarbageIdempotenceIsUnknown) {
  const CheckResult row = Canary(WithProducer({{"enable.idempotence", "yes"}}), "producer_retries");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not a boolean: enable.idempotence=\"yes\"");
}

// --- consumer_manual_commit ---

TEST(ConsumerManualCommitTest, AutoCommitOffPasses) {
  const CheckResult row = Canary(SafeInput(), "consumer_manual_commit");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "enable.auto.commit=false");
}

TEST(ConsumerManualCommitTest, AbsentIsLibrdkafkaDefaultTrueAndFails) {
  const CheckResult row = Canary(WithConsumer({}), "consumer_manual_commit");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "enable.auto.commit=true (librdkafka default)");
  EXPECT_NE(row.fix.find("-X verifier.enable.auto.commit=false"), std::string::npos) << row.fix;
}

TEST(ConsumerManualCommitTest, AutoCommitOnFails) {
  const CheckResult row =
      Canary(WithConsumer({{"enable.auto.commit", "TRUE"}}), "consumer_manual_commit");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "enable.auto.commit=TRUE");
}

TEST(ConsumerManualCommitTest, GarbageIsUnknown) {
  const CheckResult row =
      Canary(WithConsumer({{"enable.auto.commit", "0"}}), "consumer_manual_commit");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not a boolean: enable.auto.commit=\"0\"");
}

}  // namespace
}  // namespace kcanary::audit
