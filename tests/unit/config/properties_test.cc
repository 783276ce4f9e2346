#include "common/config/properties.h"

#include <gtest/gtest.h>

#include "tests/unit/config/temp_file.h"

namespace kcanary {
namespace {

using ::kcanary::testing::TempFile;

TEST(ParsePropertiesTest, ParsesKeyValueLines) {
  StatusOr<Properties> props = ParseProperties("acks=all\nlinger.ms=5\n", "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(*props, (Properties{{"acks", "all"}, {"linger.ms", "5"}}));
}

TEST(ParsePropertiesTest, EmptyTextIsEmptyMap) {
  StatusOr<Properties> props = ParseProperties("", "t");
  ASSERT_TRUE(props.ok());
  EXPECT_TRUE(props->empty());
}

TEST(ParsePropertiesTest, TrimsWhitespaceAroundKeyAndValue) {
  StatusOr<Properties> props =
      ParseProperties("  bootstrap.servers \t=  a:9092,b:9092  \n\tacks=all\t\n", "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(*props, (Properties{{"bootstrap.servers", "a:9092,b:9092"}, {"acks", "all"}}));
}

TEST(ParsePropertiesTest, IgnoresBlankAndCommentLines) {
  StatusOr<Properties> props = ParseProperties(
      "# a comment\n"
      "\n"
      "   \t \n"
      "! another comment = with equals\n"
      "   # indented comment\n"
      "acks=all\n",
      "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(*props, (Properties{{"acks", "all"}}));
}

TEST(ParsePropertiesTest, ValueMayContainEqualsAndHash) {
  StatusOr<Properties> props = ParseProperties(
      "sasl.oauthbearer.config=principal=admin scope=a=b\ncolor=#fff # not a comment\n", "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(props->at("sasl.oauthbearer.config"), "principal=admin scope=a=b");
  EXPECT_EQ(props->at("color"), "#fff # not a comment");
}

TEST(ParsePropertiesTest, EmptyValueIsAllowed) {
  StatusOr<Properties> props = ParseProperties("ssl.endpoint.identification.algorithm=\n", "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(props->at("ssl.endpoint.identification.algorithm"), "");
}

TEST(ParsePropertiesTest, LaterDuplicateWins) {
  StatusOr<Properties> props = ParseProperties("acks=1\nacks=all\n", "t");
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props->at("acks"), "all");
}

TEST(ParsePropertiesTest, AcceptsCrlfBomAndMissingFinalNewline) {
  StatusOr<Properties> props = ParseProperties(
      "\xEF\xBB\xBF"
      "acks=all\r\nlinger.ms=5",
      "t");
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(*props, (Properties{{"acks", "all"}, {"linger.ms", "5"}}));
}

TEST(ParsePropertiesTest, LineWithoutEqualsNamesSourceAndLineNumber) {
  StatusOr<Properties> props =
      ParseProperties("# header\nacks=all\nlinger.ms 5\n", "client.properties");
  ASSERT_FALSE(props.ok());
  EXPECT_EQ(props.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(props.status().message().rfind("client.properties:3: ", 0), 0u)
      << props.status().message();
}

TEST(ParsePropertiesTest, EmptyKeyNamesSourceAndLineNumber) {
  StatusOr<Properties> props = ParseProperties("acks=all\n  = value\n", "f.properties");
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.status().message().find("f.properties:2:"), std::string::npos)
      << props.status().message();
  EXPECT_NE(props.status().message().find("empty key"), std::string::npos);
}

TEST(ParsePropertiesTest, ErrorNeverQuotesTheLine) {
  // A Java-style "key: value" line with a password must not leak through the error.
  StatusOr<Properties> props = ParseProperties("sasl.password: hunter2\n", "f");
  ASSERT_FALSE(props.ok());
  EXPECT_EQ(props.status().message().find("hunter2"), std::string::npos)
      << props.status().message();
  StatusOr<Properties> empty_key = ParseProperties("=hunter2\n", "f");
  ASSERT_FALSE(empty_key.ok());
  EXPECT_EQ(empty_key.status().message().find("hunter2"), std::string::npos);
}

TEST(ParsePropertiesFileTest, ReadsFile) {
  TempFile file("# client\nsecurity.protocol = SASL_SSL\nsasl.mechanism=PLAIN\n");
  StatusOr<Properties> props = ParsePropertiesFile(file.path());
  ASSERT_TRUE(props.ok()) << props.status().message();
  EXPECT_EQ(*props, (Properties{{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "PLAIN"}}));
}

TEST(ParsePropertiesFileTest, BadLineNamesFilePathAndLine) {
  TempFile file("acks=all\n\nnot a property\n");
  StatusOr<Properties> props = ParsePropertiesFile(file.path());
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.status().message().find(file.path() + ":3:"), std::string::npos)
      << props.status().message();
}

TEST(ParsePropertiesFileTest, MissingFileNamesPathAndOsReason) {
  const std::string path = ::testing::TempDir() + "kcanary_no_such_file.properties";
  StatusOr<Properties> props = ParsePropertiesFile(path);
  ASSERT_FALSE(props.ok());
  EXPECT_EQ(props.status().code(), Status::Code::kIoError);
  EXPECT_NE(props.status().message().find(path), std::string::npos) << props.status().message();
  EXPECT_NE(props.status().message().find("No such file or directory"), std::string::npos)
      << props.status().message();
}

TEST(ParsePropertiesFileTest, DirectoryIsAnError) {
  StatusOr<Properties> props = ParsePropertiesFile(::testing::TempDir());
  ASSERT_FALSE(props.ok());
  EXPECT_EQ(props.status().code(), Status::Code::kIoError);
  EXPECT_NE(props.status().message().find("Is a directory"), std::string::npos)
      << props.status().message();
}

}  // namespace
}  // namespace kcanary
