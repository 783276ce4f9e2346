#include "common/config/references.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/unit/config/temp_file.h"

namespace kcanary {
namespace {

using ::kcanary::testing::TempFile;

class ExpandReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KCANARY_TEST_PW", "hunter2", 1);
    ::setenv("KCANARY_TEST_USER", "alice", 1);
    ::setenv("KCANARY_TEST_EMPTY", "", 1);
    ::setenv("KCANARY_TEST_NESTED", "${env:KCANARY_TEST_PW}", 1);
    ::unsetenv("KCANARY_TEST_UNSET");
  }
  void TearDown() override {
    for (const char* name :
         {"KCANARY_TEST_PW", "KCANARY_TEST_USER", "KCANARY_TEST_EMPTY", "KCANARY_TEST_NESTED"}) {
      ::unsetenv(name);
    }
  }
};

TEST_F(ExpandReferencesTest, ValueWithoutReferenceIsUnchanged) {
  StatusOr<std::string> out = ExpandReferences("all");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "all");
  EXPECT_EQ(*ExpandReferences(""), "");
}

TEST_F(ExpandReferencesTest, WholeValueFromEnvironment) {
  StatusOr<std::string> out = ExpandReferences("${env:KCANARY_TEST_PW}");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "hunter2");
}

TEST_F(ExpandReferencesTest, EmbeddedAndRepeatedReferences) {
  StatusOr<std::string> out = ExpandReferences(
      "username=\"${env:KCANARY_TEST_USER}\" password=\"${env:KCANARY_TEST_PW}\";");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "username=\"alice\" password=\"hunter2\";");
}

TEST_F(ExpandReferencesTest, EmptyVariableIsSetAndExpandsToEmpty) {
  StatusOr<std::string> out = ExpandReferences("x${env:KCANARY_TEST_EMPTY}y");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "xy");
}

TEST_F(ExpandReferencesTest, SubstitutedTextIsNotExpandedAgain) {
  StatusOr<std::string> out = ExpandReferences("${env:KCANARY_TEST_NESTED}");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "${env:KCANARY_TEST_PW}");
}

TEST_F(ExpandReferencesTest, OtherDollarBracesAreKeptVerbatim) {
  StatusOr<std::string> out = ExpandReferences("a${b}c${ d $ ${env:KCANARY_TEST_USER}");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "a${b}c${ d $ alice");
}

TEST_F(ExpandReferencesTest, UnsetVariableIsErrorNamingIt) {
  StatusOr<std::string> out = ExpandReferences("secret-prefix-${env:KCANARY_TEST_UNSET}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("KCANARY_TEST_UNSET"), std::string::npos);
  EXPECT_EQ(out.status().message().find("secret-prefix"), std::string::npos)
      << out.status().message();
}

TEST_F(ExpandReferencesTest, MalformedReferencesAreErrors) {
  EXPECT_FALSE(ExpandReferences("${env:KCANARY_TEST_PW").ok());
  EXPECT_FALSE(ExpandReferences("${file:/etc/hostname").ok());
  EXPECT_FALSE(ExpandReferences("${env:}").ok());
  EXPECT_FALSE(ExpandReferences("${file:}").ok());
}

TEST_F(ExpandReferencesTest, FileContentWithOneTrailingNewlineStripped) {
  TempFile file("s3cret\n");
  StatusOr<std::string> out = ExpandReferences("${file:" + file.path() + "}");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "s3cret");

  TempFile crlf("s3cret\r\n");
  EXPECT_EQ(*ExpandReferences("${file:" + crlf.path() + "}"), "s3cret");

  TempFile two_lines("line1\nline2\n\n");
  EXPECT_EQ(*ExpandReferences("${file:" + two_lines.path() + "}"), "line1\nline2\n");

  TempFile no_newline("pw");
  EXPECT_EQ(*ExpandReferences("<${file:" + no_newline.path() + "}>"), "<pw>");
}

TEST_F(ExpandReferencesTest, UnreadableFileIsErrorNamingPath) {
  const std::string path = ::testing::TempDir() + "kcanary_no_such_secret";
  StatusOr<std::string> out = ExpandReferences("${file:" + path + "}");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find(path), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace kcanary
