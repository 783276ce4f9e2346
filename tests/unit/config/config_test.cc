// Config::ProducerConfig()/ConsumerConfig(): defaults and layering on a
// hand-built Config (the command line is covered in command_line_test.cc).
#include "common/config/config.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

TEST(ConfigTest, ProducerDefaults) {
  EXPECT_EQ(Config{}.ProducerConfig(), (Properties{{"acks", "all"},
                                                   {"enable.idempotence", "true"},
                                                   {"client.id", "kcanary-canary"},
                                                   {"linger.ms", "5"}}));
}

TEST(ConfigTest, ProducerKeepsLibrdkafkaMessageTimeout) {
  EXPECT_FALSE(Config{}.ProducerConfig().contains("message.timeout.ms"));
}

TEST(ConfigTest, ConsumerDefaults) {
  Config config;
  config.topic = "canary-topic";
  EXPECT_EQ(config.ConsumerConfig(), (Properties{{"enable.auto.commit", "false"},
                                                 {"enable.auto.offset.store", "false"},
                                                 {"auto.offset.reset", "error"},
                                                 {"enable.partition.eof", "true"},
                                                 {"client.id", "kcanary-verifier"},
                                                 {"group.id", "kcanary-verifier-canary-topic"}}));
}

TEST(ConfigTest, LayersDefaultsThenCommonThenRoleThenFlags) {
  Config config;
  config.brokers = "flag:9092";
  config.group_id = "flag-group";
  config.common_props = {{"acks", "1"},
                         {"linger.ms", "50"},
                         {"bootstrap.servers", "common:9092"},
                         {"group.id", "common-group"},
                         {"security.protocol", "SSL"},
                         {"enable.auto.commit", "true"}};
  config.producer_props = {{"acks", "0"}, {"bootstrap.servers", "producer:9092"}};
  config.consumer_props = {{"auto.offset.reset", "earliest"}, {"group.id", "consumer-group"}};

  const Properties producer = config.ProducerConfig();
  EXPECT_EQ(producer.at("acks"), "0");                       // role beats common beats default
  EXPECT_EQ(producer.at("linger.ms"), "50");                 // common beats default
  EXPECT_EQ(producer.at("enable.idempotence"), "true");      // default kept
  EXPECT_EQ(producer.at("security.protocol"), "SSL");        // common reaches the producer
  EXPECT_EQ(producer.at("bootstrap.servers"), "flag:9092");  // flag beats everything
  EXPECT_FALSE(producer.contains("auto.offset.reset"));      // consumer-only stays there

  const Properties consumer = config.ConsumerConfig();
  EXPECT_EQ(consumer.at("auto.offset.reset"), "earliest");
  EXPECT_EQ(consumer.at("enable.auto.commit"), "true");
  EXPECT_EQ(consumer.at("security.protocol"), "SSL");
  EXPECT_EQ(consumer.at("bootstrap.servers"), "flag:9092");
  EXPECT_EQ(consumer.at("group.id"), "flag-group");
  EXPECT_EQ(consumer.at("acks"), "1");  // common props go to both; librdkafka ignores it
}

TEST(ConfigTest, EmptyBrokersAndGroupLeavePropertiesAlone) {
  Config config;
  config.common_props = {{"bootstrap.servers", "common:9092"}};
  config.consumer_props = {{"group.id", "consumer-group"}};
  EXPECT_EQ(config.ProducerConfig().at("bootstrap.servers"), "common:9092");
  EXPECT_EQ(config.ConsumerConfig().at("group.id"), "consumer-group");
  EXPECT_FALSE(Config{}.ProducerConfig().contains("bootstrap.servers"));
}

TEST(ConfigTest, CommandNames) {
  EXPECT_EQ(CommandName(Command::kRun), "run");
  EXPECT_EQ(CommandName(Command::kCanary), "canary");
  EXPECT_EQ(CommandName(Command::kVerify), "verify");
}

}  // namespace
}  // namespace kcanary
