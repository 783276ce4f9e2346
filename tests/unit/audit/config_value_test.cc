#include "common/audit/config_value.h"

#include <gtest/gtest.h>

namespace kcanary::audit {
namespace {

TEST(ParseIntTest, AcceptsPlainDecimal) {
  EXPECT_EQ(ParseInt("2"), 2);
  EXPECT_EQ(ParseInt("0"), 0);
  EXPECT_EQ(ParseInt("-1"), -1);
  EXPECT_EQ(ParseInt("2147483647"), 2147483647);
}

TEST(ParseIntTest, RejectsAnythingElse) {
  for (const char* bad :
       {"", " 2", "2 ", "+2", "2x", "two", "0x2", "2.0", "-", "1e3", "99999999999999999999"}) {
    EXPECT_EQ(ParseInt(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseBoolTest, TrueAndFalseInAnyCase) {
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("TRUE"), true);
  EXPECT_EQ(ParseBool("False"), false);
  EXPECT_EQ(ParseBool("false"), false);
}

TEST(ParseBoolTest, RejectsOtherSpellings) {
  for (const char* bad : {"", "1", "0", "yes", "t", " true", "truee"}) {
    EXPECT_EQ(ParseBool(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ShowWithSourceTest, NamesTheSource) {
  EXPECT_EQ(ShowWithSource("1", ConfigSource::kTopicOverride), "1 (topic override)");
  EXPECT_EQ(ShowWithSource("true", ConfigSource::kDynamicClusterDefault),
            "true (cluster-wide default (dynamic))");
  EXPECT_EQ(ShowWithSource("2", ConfigSource::kUnknown), "2 (source unknown)");
}

TEST(ConfigSourceNameTest, EveryValue) {
  EXPECT_EQ(ConfigSourceName(ConfigSource::kTopicOverride), "topic override");
  EXPECT_EQ(ConfigSourceName(ConfigSource::kDynamicBroker), "broker (dynamic)");
  EXPECT_EQ(ConfigSourceName(ConfigSource::kDynamicClusterDefault),
            "cluster-wide default (dynamic)");
  EXPECT_EQ(ConfigSourceName(ConfigSource::kStaticBroker), "broker (static)");
  EXPECT_EQ(ConfigSourceName(ConfigSource::kDefault), "Kafka default");
  EXPECT_EQ(ConfigSourceName(ConfigSource::kUnknown), "unknown");
}

TEST(ReadIntTest, MissingKeyIsKafkaDefault) {
  StatusOr<IntSetting> isr = ReadInt(ConfigMap{}, "min.insync.replicas", 1);
  ASSERT_TRUE(isr.ok());
  EXPECT_EQ(isr->value, 1);
  EXPECT_EQ(isr->source, ConfigSource::kDefault);
  EXPECT_EQ(isr->shown, "1 (Kafka default)");
}

TEST(ReadIntTest, UnparsableNamesKeyValueAndSource) {
  StatusOr<IntSetting> isr =
      ReadInt(ConfigMap{{"min.insync.replicas", {"two", ConfigSource::kTopicOverride}}},
              "min.insync.replicas", 1);
  ASSERT_FALSE(isr.ok());
  EXPECT_EQ(isr.status().message(), "not an integer: min.insync.replicas=\"two\" (topic override)");
}

}  // namespace
}  // namespace kcanary::audit
