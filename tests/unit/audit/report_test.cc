#include "common/audit/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/audit/checks.h"

namespace kcanary::audit {
namespace {

std::vector<CheckResult> SampleRows() {
  return {
      {.topic = "kcanary",
       .check = "replication_factor",
       .verdict = Verdict::kPass,
       .value = "3",
       .why = "why rf",
       .fix = "fix rf"},
      {.topic = "kcanary",
       .check = "min_insync_replicas",
       .verdict = Verdict::kFail,
       .value = "1 (Kafka default)",
       .why = "why isr",
       .fix = "fix isr"},
      {.topic = "orders",
       .check = "unclean_leader_election",
       .verdict = Verdict::kUnknown,
       .value = "DescribeConfigs denied",
       .why = "why unclean",
       .fix = "fix unclean"},
  };
}

TEST(RenderTextTest, AlignedTableWithWhyAndFixUnderFailAndUnknown) {
  EXPECT_EQ(RenderText(SampleRows()),
            "TOPIC    CHECK                    RESULT   VALUE\n"
            "kcanary  replication_factor       PASS     3\n"
            "kcanary  min_insync_replicas      FAIL     1 (Kafka default)\n"
            "    why: why isr\n"
            "    fix: fix isr\n"
            "orders   unclean_leader_election  UNKNOWN  DescribeConfigs denied\n"
            "    why: why unclean\n"
            "    fix: fix unclean\n"
            "3 checks on 2 topics: 1 pass, 1 fail, 1 unknown\n");
}

TEST(RenderTextTest, SummaryUsesSingularForOne) {
  const std::string text = RenderText({SampleRows()[0]});
  EXPECT_TRUE(text.ends_with("\n1 check on 1 topic: 1 pass, 0 fail, 0 unknown\n")) << text;
  EXPECT_EQ(text.find("why:"), std::string::npos) << "passing rows have no details";
}

TEST(RenderTextTest, EmptyIsHeaderAndSummary) {
  EXPECT_EQ(RenderText({}),
            "TOPIC  CHECK  RESULT   VALUE\n"
            "0 checks on 0 topics: 0 pass, 0 fail, 0 unknown\n");
}

TEST(RenderJsonTest, ParsesBackWithSummaryAndEveryField) {
  const std::string text = RenderJson(SampleRows());
  ASSERT_TRUE(text.ends_with("}\n"));
  const nlohmann::json doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["passing"], false);
  EXPECT_EQ(doc["summary"],
            nlohmann::json({{"pass", 1}, {"fail", 1}, {"unknown", 1}, {"topics", 2}}));
  ASSERT_EQ(doc["checks"].size(), 3u);
  EXPECT_EQ(doc["checks"][0], nlohmann::json({{"topic", "kcanary"},
                                              {"check", "replication_factor"},
                                              {"result", "PASS"},
                                              {"value", "3"},
                                              {"why", "why rf"},
                                              {"fix", "fix rf"}}));
  EXPECT_EQ(doc["checks"][1]["result"], "FAIL");
  EXPECT_EQ(doc["checks"][2]["result"], "UNKNOWN");
  EXPECT_EQ(doc["checks"][2]["topic"], "orders");
  EXPECT_EQ(doc["checks"][2]["value"], "DescribeConfigs denied");
}

TEST(RenderJsonTest, PassingWhenEveryRowPasses) {
  const nlohmann::json doc = nlohmann::json::parse(RenderJson({SampleRows()[0]}));
  EXPECT_EQ(doc["passing"], true);
  EXPECT_EQ(doc["summary"]["topics"], 1);
}

TEST(RenderJsonTest, EmptyHasEmptyChecksArray) {
  const nlohmann::json doc = nlohmann::json::parse(RenderJson({}));
  EXPECT_TRUE(doc["checks"].is_array());
  EXPECT_TRUE(doc["checks"].empty());
  EXPECT_EQ(doc["passing"], true);
}

TEST(RenderJsonTest, EscapesQuotesAndSurvivesInvalidUtf8) {
  std::vector<CheckResult> rows = SampleRows();
  rows[0].value = "not an integer: min.insync.replicas=\"x\"";
  rows[1].value = "bad \xff byte";
  const nlohmann::json doc = nlohmann::json::parse(RenderJson(rows));
  EXPECT_EQ(doc["checks"][0]["value"], "not an integer: min.insync.replicas=\"x\"");
  EXPECT_EQ(doc["checks"][1]["value"], "bad \xEF\xBF\xBD byte");
}

}  // namespace
}  // namespace kcanary::audit
