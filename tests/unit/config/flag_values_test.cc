#include "common/config/flag_values.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kcanary {
namespace {

// Runs `set` on `value`; on failure checks the message quotes the value.
bool Accepts(Status (*set)(std::string_view, Config&), std::string_view value, Config& config) {
  const Status status = set(value, config);
  if (!status.ok()) {
    EXPECT_NE(status.message().find("'" + std::string(value) + "'"), std::string::npos)
        << "message does not quote the value: " << status.message();
  }
  return status.ok();
}

TEST(FlagValuesTest, Rate) {
  Config config;
  EXPECT_TRUE(Accepts(&SetRate, "0.5", config));
  EXPECT_DOUBLE_EQ(config.rate, 0.5);
  EXPECT_TRUE(Accepts(&SetRate, "1000000", config));
  EXPECT_DOUBLE_EQ(config.rate, 1e6);
  EXPECT_TRUE(Accepts(&SetRate, "1e3", config));
  EXPECT_DOUBLE_EQ(config.rate, 1000);
  for (const char* bad : {"0", "-1", "1000000.5", "nan", "inf", "abc", "10x", " 10", "+5"}) {
    Config untouched;
    EXPECT_FALSE(Accepts(&SetRate, bad, untouched)) << bad;
    EXPECT_DOUBLE_EQ(untouched.rate, Config{}.rate) << bad;
  }
  EXPECT_FALSE(SetRate("", config).ok());
}

TEST(FlagValuesTest, MessageSize) {
  Config config;
  EXPECT_TRUE(Accepts(&SetMessageSize, "64", config));
  EXPECT_EQ(config.message_size, 64);
  EXPECT_TRUE(Accepts(&SetMessageSize, "16777216", config));
  EXPECT_EQ(config.message_size, 16777216);
  for (const char* bad : {"63", "16777217", "0", "-256", "1.5", "1k", "99999999999999999999"}) {
    EXPECT_FALSE(Accepts(&SetMessageSize, bad, config)) << bad;
  }
}

TEST(FlagValuesTest, Partitions) {
  Config config;
  EXPECT_TRUE(Accepts(&SetPartitions, "1", config));
  EXPECT_EQ(config.embedded_partitions, 1);
  EXPECT_TRUE(Accepts(&SetPartitions, "1024", config));
  EXPECT_EQ(config.embedded_partitions, 1024);
  for (const char* bad : {"0", "1025", "-3", "3.0", "three", "4294967297"}) {
    EXPECT_FALSE(Accepts(&SetPartitions, bad, config)) << bad;
  }
}

TEST(FlagValuesTest, Listen) {
  Config config;
  for (const char* good : {"127.0.0.1:9642", "0.0.0.0:80", "localhost:0", "[::1]:65535",
                           "[::]:9642", "metrics.example.com:8080"}) {
    EXPECT_TRUE(Accepts(&SetListen, good, config)) << good;
    EXPECT_EQ(config.listen, good);
  }
  for (const char* bad : {"9642", ":9642", "host:", "host:65536", "host:-1", "host:80x", "::1:9642",
                          "[::1]9642", "[]:80", "host:99999999999", ""}) {
    Config untouched;
    EXPECT_FALSE(Accepts(&SetListen, bad, untouched)) << bad;
    EXPECT_EQ(untouched.listen, Config{}.listen);
  }
}

TEST(FlagValuesTest, LogLevel) {
  Config config;
  for (const char* good : {"trace", "debug", "info", "warn", "error"}) {
    EXPECT_TRUE(Accepts(&SetLogLevel, good, config)) << good;
    EXPECT_EQ(config.log_level, good);
  }
  for (const char* bad : {"INFO", "warning", "critical", "off", ""}) {
    EXPECT_FALSE(Accepts(&SetLogLevel, bad, config)) << bad;
  }
}

TEST(FlagValuesTest, Topic) {
  Config config;
  EXPECT_TRUE(Accepts(&SetTopic, "kcanary.prod-1_a", config));
  EXPECT_EQ(config.topic, "kcanary.prod-1_a");
  EXPECT_TRUE(Accepts(&SetTopic, std::string(249, 'a'), config));
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "with space", "a/b",
                                                         "\xC3\xA4", std::string(250, 'a')}) {
    EXPECT_FALSE(Accepts(&SetTopic, bad, config)) << bad;
  }
}

TEST(FlagValuesTest, Brokers) {
  Config config;
  EXPECT_TRUE(Accepts(&SetBrokers, "kafka-1:9092,kafka-2:9092", config));
  EXPECT_EQ(config.brokers, "kafka-1:9092,kafka-2:9092");
  EXPECT_FALSE(SetBrokers("", config).ok());
  for (const char* bad : {"a:1,,b:2", "a:1,", "a:1, b:2", "=a:1"}) {
    EXPECT_FALSE(Accepts(&SetBrokers, bad, config)) << bad;
  }
}

TEST(FlagValuesTest, NonEmptyStrings) {
  Config config;
  EXPECT_TRUE(SetStateDir("/var/lib/kcanary", config).ok());
  EXPECT_EQ(config.state_dir, "/var/lib/kcanary");
  EXPECT_FALSE(SetStateDir("", config).ok());
  EXPECT_TRUE(SetGroup("my-group", config).ok());
  EXPECT_EQ(config.group_id, "my-group");
  EXPECT_FALSE(SetGroup("", config).ok());
}

}  // namespace
}  // namespace kcanary

namespace kcanary {
namespace {

TEST(FlagValuesTest, ListenNoneDisablesTheListener) {
  Config config;
  ASSERT_TRUE(SetListen("none", config).ok());
  EXPECT_EQ(config.listen, "none");
}

TEST(FlagValuesTest, DeliveryJournalNeedsAPath) {
  Config config;
  EXPECT_FALSE(SetDeliveryJournal("", config).ok());
  ASSERT_TRUE(SetDeliveryJournal("/tmp/journal", config).ok());
  EXPECT_EQ(config.delivery_journal, "/tmp/journal");
}

}  // namespace
}  // namespace kcanary
