#include "common/config/secrets.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

TEST(IsSecretKeyTest, KnownSecretKeys) {
  for (const char* key :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.truststore.password",
        "ssl.key.pem", "ssl.keystore.key", "sasl.oauthbearer.config", "sasl.jaas.config",
        "sasl.oauthbearer.client.secret", "ssl_key", "some.vendor.secret.token", "x.passphrase",
        "aws.credentials"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
}

TEST(IsSecretKeyTest, PrefixedAndUpperCaseKeysAreSecretToo) {
  EXPECT_TRUE(IsSecretKey("canary.sasl.password"));
  EXPECT_TRUE(IsSecretKey("verifier.ssl.key.pem"));
  EXPECT_TRUE(IsSecretKey("canary.sasl.oauthbearer.config"));
  EXPECT_TRUE(IsSecretKey("SASL.PASSWORD"));
  EXPECT_TRUE(IsSecretKey("SSL.Key.PEM"));
}

TEST(IsSecretKeyTest, OrdinaryKeysAreNotSecret) {
  for (const char* key :
       {"bootstrap.servers", "acks", "sasl.username", "sasl.mechanism", "ssl.key.location",
        "ssl.certificate.pem", "ssl.ca.location", "security.protocol", "group.id", "notssl.key.pem",
        "sasl.kerberos.keytab", ""}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(RedactedDumpTest, SortedLinesWithSecretsRedacted) {
  const Properties props = {{"sasl.password", "hunter2"},
                            {"acks", "all"},
                            {"sasl.username", "alice"},
                            {"ssl.key.pem", "-----BEGIN PRIVATE KEY-----"}};
  const std::string dump = RedactedDump(props);
  EXPECT_EQ(dump,
            "acks=all\n"
            "sasl.password=[redacted]\n"
            "sasl.username=alice\n"
            "ssl.key.pem=[redacted]\n");
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
  EXPECT_EQ(dump.find("BEGIN"), std::string::npos);
}

TEST(RedactedDumpTest, EmptyPropertiesGiveEmptyDump) { EXPECT_EQ(RedactedDump({}), ""); }

TEST(RedactedDumpTest, MultiLineValuesStayOnOneLine) {
  EXPECT_EQ(RedactedDump({{"ssl.certificate.pem", "line1\nline2\r\n"}}),
            "ssl.certificate.pem=line1\\nline2\\r\\n\n");
}

}  // namespace
}  // namespace kcanary
