#include "common/http/basic_auth.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

TEST(BasicAuthTest, ParsesUsersAndKeepsPasswordsAsWritten) {
  StatusOr<BasicAuthUsers> users = ParseBasicAuthUsers(
      "# who may scrape\nprometheus:s3cret:with:colons\r\n\nops: spaced pw \n", "auth");
  ASSERT_TRUE(users.ok()) << users.status().message();
  EXPECT_EQ(users->size(), 2u);
  EXPECT_EQ(users->at("prometheus"), "s3cret:with:colons");
  EXPECT_EQ(users->at("ops"), " spaced pw ");
}

TEST(BasicAuthTest, BadFilesNameTheLineNeverItsText) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"a:b\nhunter2-no-colon\n", "auth:2: expected user:password (no ':' found)"},
      {":hunter2\n", "auth:1: empty user before ':'"},
      {"prometheus:\n", "auth:1: empty password after ':'"},
      {"u:hunter2\nu:hunter3\n", "auth:2: user given twice"},
      {"# only a comment\n\n", "auth: no user:password line"},
  };
  for (const auto& c : cases) {
    StatusOr<BasicAuthUsers> users = ParseBasicAuthUsers(c.text, "auth");
    ASSERT_FALSE(users.ok()) << c.text;
    EXPECT_EQ(users.status().message(), c.message);
    EXPECT_EQ(users.status().message().find("hunter"), std::string::npos);
  }
}

TEST(BasicAuthTest, DecodesBase64) {
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("Zg=="), "f");
  EXPECT_EQ(DecodeBase64("Zm8="), "fo");
  EXPECT_EQ(DecodeBase64("Zm9v"), "foo");
  EXPECT_EQ(DecodeBase64("dXNlcjpwYXNz"), "user:pass");
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zg==Zg==", "Z=g="}) {
    EXPECT_FALSE(DecodeBase64(bad).has_value()) << bad;
  }
}

TEST(BasicAuthTest, AuthorizesExactlyTheConfiguredPairs) {
  const BasicAuthUsers users = {{"user", "pass"}, {"other", "p:w"}};
  EXPECT_TRUE(IsAuthorized(users, "Basic dXNlcjpwYXNz"));       // user:pass
  EXPECT_TRUE(IsAuthorized(users, "basic  dXNlcjpwYXNz "));     // scheme case, blanks
  EXPECT_TRUE(IsAuthorized(users, "Basic b3RoZXI6cDp3"));       // other:p:w
  EXPECT_FALSE(IsAuthorized(users, ""));                        // no header
  EXPECT_FALSE(IsAuthorized(users, "Basic dXNlcjpwYXNzeA=="));  // user:passx
  EXPECT_FALSE(IsAuthorized(users, "Basic dXNlcjpwYXM="));      // user:pas
  EXPECT_FALSE(IsAuthorized(users, "Basic b3RoZXI6cGFzcw=="));  // other:pass
  EXPECT_FALSE(IsAuthorized(users, "Basic bm9ib2R5OnBhc3M="));  // nobody:pass
  EXPECT_FALSE(IsAuthorized(users, "Basic dXNlcnBhc3M="));      // userpass (no colon)
  EXPECT_FALSE(IsAuthorized(users, "Bearer dXNlcjpwYXNz"));     // another scheme
  EXPECT_FALSE(IsAuthorized(users, "Basic not-base64!"));
}

}  // namespace
}  // namespace kcanary
