#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "tests/unit/config/temp_file.h"

namespace kcanary {
namespace {

using ::kcanary::testing::TempFile;

// Substring checks that print both strings on failure (gmock's HasSubstr
// without linking gmock).
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not found in:\n" << text;
}
::testing::AssertionResult Lacks(const std::string& text, const std::string& part) {
  if (text.find(part) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' unexpectedly found in:\n" << text;
}

ParseResult Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "kcanary");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), "1.2.3");
}

// Parses args that must succeed.
Config ParseOk(std::vector<std::string> args) {
  ParseResult result = Parse(std::move(args));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "");
  if (!result.config) {
    ADD_FAILURE() << "no config: " << result.output;
    return Config{};
  }
  return *result.config;
}

// A usage error: exit 2, no config, one line of output.
std::string ParseError(std::vector<std::string> args) {
  ParseResult result = Parse(std::move(args));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_FALSE(result.config.has_value());
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_TRUE(result.output.ends_with('\n')) << result.output;
  return result.output;
}

// ---- help, version, commands -------------------------------------------------

TEST(CommandLineTest, TopLevelHelpDescribesEveryCommandAndOption) {
  for (const char* flag : {"--help", "-h"}) {
    ParseResult result = Parse({flag});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_FALSE(result.config.has_value());
    const std::string& help = result.output;
    EXPECT_TRUE(Contains(help, "Usage: kcanary [--version] [--help] <command> [options]"));
    for (const char* text :
         {"run", "canary", "verify", "--brokers", "--topic", "-X KEY=VALUE", "-F FILE",
          "--state-dir", "--listen", "--log-level", "--group", "--rate", "--message-size",
          "--partitions", "--listen-auth", "--listen-tls-cert", "--listen-tls-key", "embedded mock",
          "${env:NAME}", "${file:PATH}", "canary.", "verifier.",
          // Defaults and units.
          "Default: kcanary.", "Default: ./kcanary-state.", "Default: 127.0.0.1:9642.",
          "Default: info.", "Default: 10.", "Default: 256.", "Default: 6.", "per second", "bytes",
          "kcanary-verifier-<topic>"}) {
      EXPECT_TRUE(Contains(help, text)) << flag;
    }
  }
}

TEST(CommandLineTest, HelpLinesFitEightyColumns) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"run", "--help"}, {"canary", "--help"}, {"verify", "--help"}}) {
    const std::string help = Parse(args).output;
    std::size_t start = 0;
    while (start < help.size()) {
      std::size_t end = help.find('\n', start);
      if (end == std::string::npos) end = help.size();
      EXPECT_LE(end - start, 80u) << help.substr(start, end - start);
      start = end + 1;
    }
  }
}

TEST(CommandLineTest, RunHelpDescribesItsOptionsAndTheEmbeddedCluster) {
  ParseResult result = Parse({"run", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_TRUE(Contains(result.output, "Usage: kcanary run [options]"));
  EXPECT_TRUE(Contains(result.output, "mock cluster"));
  for (const char* flag : {"--brokers", "--rate", "--message-size", "--partitions", "-X", "-F"}) {
    EXPECT_TRUE(Contains(result.output, flag));
  }
  EXPECT_EQ(Parse({"run", "-h"}).output, result.output);
}

TEST(CommandLineTest, CommandHelpListsOnlyThatCommandsOptions) {
  ParseResult canary = Parse({"canary", "--help"});
  EXPECT_EQ(canary.exit_code, 0);
  EXPECT_TRUE(Contains(canary.output, "Usage: kcanary canary [options]"));
  EXPECT_TRUE(Contains(canary.output, "--rate RECORDS/S"));
  EXPECT_TRUE(Lacks(canary.output, "--partitions"));

  ParseResult verify = Parse({"verify", "--help"});
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_TRUE(Contains(verify.output, "Usage: kcanary verify [options]"));
  EXPECT_TRUE(Contains(verify.output, "--group ID"));
  EXPECT_TRUE(Lacks(verify.output, "--rate"));
  EXPECT_TRUE(Lacks(verify.output, "--message-size"));
}

TEST(CommandLineTest, HelpWinsOverOtherErrors) {
  ParseResult result = Parse({"run", "--help", "--bogus", "--rate", "abc"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.output, "Usage: kcanary run"));
}

TEST(CommandLineTest, Version) {
  ParseResult result = Parse({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output, "kcanary 1.2.3\n");
  EXPECT_FALSE(result.config.has_value());
}

TEST(CommandLineTest, NoCommandIsUsageError) {
  ParseResult result = Parse({});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_TRUE(Contains(result.output, "no command"));
  EXPECT_TRUE(Contains(result.output, "Usage: kcanary"));
  EXPECT_TRUE(Contains(result.output, "run, canary, verify"));
}

TEST(CommandLineTest, EmptyArgvIsNoCommand) {
  ParseResult result = ParseCommandLine(0, nullptr, "1.2.3");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(Contains(result.output, "no command"));
}

TEST(CommandLineTest, UnknownCommandIsNamed) {
  EXPECT_TRUE(Contains(ParseError({"frobnicate"}), "unknown command 'frobnicate'"));
}

TEST(CommandLineTest, OptionBeforeCommandIsNamed) {
  EXPECT_TRUE(Contains(ParseError({"--brokers", "a:1", "run"}), "'--brokers'"));
}

TEST(CommandLineTest, SecondCommandIsAnUnexpectedArgument) {
  EXPECT_TRUE(Contains(ParseError({"run", "verify"}), "unexpected argument 'verify'"));
}

TEST(CommandLineTest, EachCommandSetsCommand) {
  EXPECT_EQ(ParseOk({"run"}).command, Command::kRun);
  EXPECT_EQ(ParseOk({"canary", "-b", "k:9092"}).command, Command::kCanary);
  EXPECT_EQ(ParseOk({"verify", "-b", "k:9092"}).command, Command::kVerify);
}

// ---- values --------------------------------------------------------------------

TEST(CommandLineTest, RunDefaults) {
  const Config config = ParseOk({"run"});
  const Config defaults;
  EXPECT_EQ(config.brokers, "");  // embedded mock cluster
  EXPECT_EQ(config.topic, defaults.topic);
  EXPECT_EQ(config.state_dir, defaults.state_dir);
  EXPECT_EQ(config.listen, defaults.listen);
  EXPECT_EQ(config.log_level, defaults.log_level);
  EXPECT_EQ(config.group_id, "kcanary-verifier-kcanary");
  EXPECT_DOUBLE_EQ(config.rate, defaults.rate);
  EXPECT_EQ(config.message_size, defaults.message_size);
  EXPECT_EQ(config.embedded_partitions, defaults.embedded_partitions);
  EXPECT_TRUE(config.common_props.empty());
  EXPECT_TRUE(config.producer_props.empty());
  EXPECT_TRUE(config.consumer_props.empty());
}

TEST(CommandLineTest, EveryFlagReachesItsField) {
  const Config config = ParseOk({"run", "--brokers", "a:1,b:2", "--topic", "t1", "--state-dir",
                                 "/var/lib/kc", "--listen", "0.0.0.0:0", "--log-level", "debug",
                                 "--group", "g1", "--rate", "2.5", "--message-size", "1024"});
  EXPECT_EQ(config.brokers, "a:1,b:2");
  EXPECT_EQ(config.topic, "t1");
  EXPECT_EQ(config.state_dir, "/var/lib/kc");
  EXPECT_EQ(config.listen, "0.0.0.0:0");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.group_id, "g1");
  EXPECT_DOUBLE_EQ(config.rate, 2.5);
  EXPECT_EQ(config.message_size, 1024);

  EXPECT_EQ(ParseOk({"run", "--partitions", "12"}).embedded_partitions, 12);
}

TEST(CommandLineTest, ListenerFilesAreOnlyNamedHere) {
  // The paths are stored as given; the service reads the files at start.
  const Config config = ParseOk({"run", "--listen-auth", "/etc/kc/auth", "--listen-tls-cert",
                                 "/etc/kc/tls.crt", "--listen-tls-key", "/etc/kc/tls.key"});
  EXPECT_EQ(config.listen_auth, "/etc/kc/auth");
  EXPECT_EQ(config.listen_tls_cert, "/etc/kc/tls.crt");
  EXPECT_EQ(config.listen_tls_key, "/etc/kc/tls.key");
  EXPECT_TRUE(ParseOk({"run"}).listen_tls_cert.empty());
}

TEST(CommandLineTest, ShortEqualsAndAttachedForms) {
  const Config config = ParseOk({"verify", "-b", "a:1", "-t", "t2", "--group=g2", "-Xacks=all"});
  EXPECT_EQ(config.brokers, "a:1");
  EXPECT_EQ(config.topic, "t2");
  EXPECT_EQ(config.group_id, "g2");
  EXPECT_EQ(config.common_props.at("acks"), "all");
}

TEST(CommandLineTest, RepeatedFlagLastWins) {
  const Config config = ParseOk({"run", "--rate", "1", "--rate", "7", "-t", "a", "-t", "b"});
  EXPECT_DOUBLE_EQ(config.rate, 7);
  EXPECT_EQ(config.topic, "b");
}

TEST(CommandLineTest, GroupDefaultFollowsTopic) {
  EXPECT_EQ(ParseOk({"run", "--topic", "orders-canary"}).group_id,
            "kcanary-verifier-orders-canary");
  EXPECT_EQ(ParseOk({"run", "-t", "x"}).ConsumerConfig().at("group.id"), "kcanary-verifier-x");
}

TEST(CommandLineTest, CanaryAndVerifyRequireBrokers) {
  for (const char* command : {"canary", "verify"}) {
    const std::string message = ParseError({command});
    EXPECT_TRUE(Contains(message, "--brokers")) << command;
    EXPECT_TRUE(Contains(message, command));
  }
}

TEST(CommandLineTest, BrokersMayComeFromBootstrapServersProperty) {
  EXPECT_EQ(ParseOk({"canary", "-X", "bootstrap.servers=p:1"}).brokers, "p:1");
  EXPECT_EQ(ParseOk({"canary", "-X", "canary.bootstrap.servers=p:1"}).brokers, "p:1");
  EXPECT_EQ(ParseOk({"verify", "-X", "verifier.bootstrap.servers=c:1"}).brokers, "c:1");
  // Not the embedded cluster: the user asked for a real one.
  EXPECT_EQ(ParseOk({"run", "-X", "bootstrap.servers=r:1"}).brokers, "r:1");
  TempFile file("bootstrap.servers=f:1\n");
  EXPECT_EQ(ParseOk({"verify", "-F", file.path()}).brokers, "f:1");
  // The verifier's bootstrap.servers is no help to the canary.
  EXPECT_TRUE(
      Contains(ParseError({"canary", "-X", "verifier.bootstrap.servers=c:1"}), "--brokers"));
}

TEST(CommandLineTest, RunRejectsDifferentBootstrapServersPerRole) {
  EXPECT_TRUE(
      Contains(ParseError({"run", "-X", "canary.bootstrap.servers=p:1"}), "bootstrap.servers"));
  EXPECT_TRUE(Contains(ParseError({"run", "-X", "canary.bootstrap.servers=p:1", "-X",
                                   "verifier.bootstrap.servers=c:1"}),
                       "--brokers"));
  // --brokers settles it.
  EXPECT_EQ(ParseOk({"run", "-b", "k:1", "-X", "canary.bootstrap.servers=p:1"})
                .ProducerConfig()
                .at("bootstrap.servers"),
            "k:1");
}

TEST(CommandLineTest, PartitionsOnlyForTheEmbeddedCluster) {
  EXPECT_TRUE(Contains(ParseError({"run", "-b", "k:1", "--partitions", "3"}), "--partitions"));
}

// ---- properties: prefixes, precedence, files, references -----------------------

TEST(CommandLineTest, AuditTakesTopicsFormatAndClientProperties) {
  const Config c = ParseOk({"audit", "-b", "k:9092", "-t", "canary", "--topics", "orders|pay-.*",
                            "--format", "json", "-X", "canary.acks=1"});
  EXPECT_EQ(c.command, Command::kAudit);
  EXPECT_EQ(c.brokers, "k:9092");
  EXPECT_EQ(c.audit_topics, "orders|pay-.*");
  EXPECT_EQ(c.output_format, "json");
  EXPECT_EQ(c.ProducerConfig().at("acks"), "1");  // judged as kcanary's own producer
  EXPECT_EQ(c.AdminConfig().at("bootstrap.servers"), "k:9092");
  EXPECT_EQ(ParseOk({"audit", "-b", "k:9092"}).output_format, "text");
}

TEST(CommandLineTest, AuditRejectsBadInputNamingIt) {
  EXPECT_TRUE(Contains(ParseError({"audit"}), "--brokers"));
  EXPECT_TRUE(Contains(ParseError({"audit", "-b", "k:1", "--topics", "("}), "--topics"));
  EXPECT_TRUE(Contains(ParseError({"audit", "-b", "k:1", "--format", "yaml"}), "--format"));
  // role-only flags are not audit's
  EXPECT_TRUE(Contains(ParseError({"audit", "-b", "k:1", "--rate", "5"}), "--rate"));
  EXPECT_TRUE(Contains(ParseError({"audit", "-b", "k:1", "--state-dir", "d"}), "--state-dir"));
  // and audit's flags are not the roles'
  EXPECT_TRUE(Contains(ParseError({"canary", "-b", "k:1", "--topics", "x"}), "--topics"));
}

TEST(CommandLineTest, AuditTakesBrokersFromBootstrapServers) {
  EXPECT_EQ(ParseOk({"audit", "-X", "bootstrap.servers=k:9"}).brokers, "k:9");
}

TEST(CommandLineTest, ManageTopicIsABooleanOfTheProducingCommands) {
  EXPECT_TRUE(ParseOk({"canary", "-b", "k:1"}).manage_topic);
  for (const char* no : {"false", "no", "off", "0"}) {
    EXPECT_FALSE(ParseOk({"canary", "-b", "k:1", "--manage-topic", no}).manage_topic) << no;
  }
  EXPECT_TRUE(ParseOk({"run", "--manage-topic=true"}).manage_topic);
  EXPECT_TRUE(Contains(ParseError({"run", "--manage-topic", "maybe"}), "--manage-topic"));
  EXPECT_TRUE(
      Contains(ParseError({"verify", "-b", "k:1", "--manage-topic", "false"}), "--manage-topic"));
}

TEST(CommandLineTest, PropertyPrefixesRouteToRoles) {
  const Config config =
      ParseOk({"run", "-X", "security.protocol=SSL", "-X", "canary.acks=1", "-X",
               "verifier.fetch.max.bytes=1000", "-X", "sasl.oauthbearer.config=a=b c=d"});
  EXPECT_EQ(config.common_props,
            (Properties{{"security.protocol", "SSL"}, {"sasl.oauthbearer.config", "a=b c=d"}}));
  EXPECT_EQ(config.producer_props, (Properties{{"acks", "1"}}));
  EXPECT_EQ(config.consumer_props, (Properties{{"fetch.max.bytes", "1000"}}));
  EXPECT_EQ(config.ProducerConfig().at("acks"), "1");
  EXPECT_FALSE(config.ConsumerConfig().contains("acks"));
  EXPECT_EQ(config.ConsumerConfig().at("fetch.max.bytes"), "1000");
  EXPECT_FALSE(config.ProducerConfig().contains("fetch.max.bytes"));
}

TEST(CommandLineTest, PropertyWhitespaceTrimmedAndEmptyValueAllowed) {
  const Config config = ParseOk({"run", "-X", " linger.ms = 7 ", "-X", "client.rack="});
  EXPECT_EQ(config.common_props.at("linger.ms"), "7");
  EXPECT_EQ(config.common_props.at("client.rack"), "");
}

TEST(CommandLineTest, FileLinesUseTheSamePrefixes) {
  TempFile file(
      "# shared client settings\n"
      "security.protocol=SASL_SSL\n"
      "canary.compression.type=lz4\n"
      "verifier.isolation.level=read_uncommitted\n");
  const Config config = ParseOk({"run", "-F", file.path()});
  EXPECT_EQ(config.common_props, (Properties{{"security.protocol", "SASL_SSL"}}));
  EXPECT_EQ(config.producer_props, (Properties{{"compression.type", "lz4"}}));
  EXPECT_EQ(config.consumer_props, (Properties{{"isolation.level", "read_uncommitted"}}));
}

TEST(CommandLineTest, PrecedenceDefaultsThenFilesThenXThenFlags) {
  TempFile first("linger.ms=10\nacks=0\nclient.id=from-first\nbootstrap.servers=file:1\n");
  TempFile second("client.id=from-second\ngroup.id=file-group\n");
  // -X comes before -F on the command line on purpose: precedence is by kind.
  const Config config = ParseOk({"run", "-X", "acks=1", "-X", "bootstrap.servers=x:1", "-F",
                                 first.path(), "-F", second.path(), "--brokers", "flag:1"});
  const Properties producer = config.ProducerConfig();
  EXPECT_EQ(producer.at("enable.idempotence"), "true");   // default
  EXPECT_EQ(producer.at("linger.ms"), "10");              // -F beats default
  EXPECT_EQ(producer.at("client.id"), "from-second");     // later -F beats earlier
  EXPECT_EQ(producer.at("acks"), "1");                    // -X beats -F
  EXPECT_EQ(producer.at("bootstrap.servers"), "flag:1");  // flag beats -X and -F
  const Properties consumer = config.ConsumerConfig();
  EXPECT_EQ(consumer.at("bootstrap.servers"), "flag:1");
  EXPECT_EQ(consumer.at("group.id"), "file-group");  // -F beats the default group
  EXPECT_EQ(config.group_id, "file-group");
}

TEST(CommandLineTest, GroupFlagBeatsGroupIdProperty) {
  const Config config = ParseOk({"run", "-X", "group.id=x-group", "--group", "flag-group"});
  EXPECT_EQ(config.group_id, "flag-group");
  EXPECT_EQ(config.ConsumerConfig().at("group.id"), "flag-group");
  EXPECT_EQ(ParseOk({"run", "-X", "verifier.group.id=v"}).group_id, "v");
}

TEST(CommandLineTest, LaterPropertyWins) {
  EXPECT_EQ(ParseOk({"run", "-X", "acks=0", "-X", "acks=all"}).common_props.at("acks"), "all");
}

class CommandLineEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KCANARY_TEST_PASSWORD", "hunter2", 1);
    ::unsetenv("KCANARY_TEST_MISSING");
  }
  void TearDown() override { ::unsetenv("KCANARY_TEST_PASSWORD"); }
};

TEST_F(CommandLineEnvTest, ExpandsEnvAndFileReferences) {
  TempFile secret("from-file\n");
  TempFile props("ssl.key.password=${file:" + secret.path() +
                 "}\ncanary.sasl.username=${env:KCANARY_TEST_PASSWORD}-user\n");
  const Config config = ParseOk({"run", "-X", "sasl.password=${env:KCANARY_TEST_PASSWORD}", "-F",
                                 props.path(), "-X", "verifier.x=${file:" + secret.path() + "}"});
  EXPECT_EQ(config.common_props.at("sasl.password"), "hunter2");
  EXPECT_EQ(config.common_props.at("ssl.key.password"), "from-file");
  EXPECT_EQ(config.producer_props.at("sasl.username"), "hunter2-user");
  EXPECT_EQ(config.consumer_props.at("x"), "from-file");
}

TEST_F(CommandLineEnvTest, UnsetVariableNamesVariableAndKey) {
  const std::string message =
      ParseError({"run", "-X", "sasl.password=${env:KCANARY_TEST_MISSING}"});
  EXPECT_TRUE(Contains(message, "KCANARY_TEST_MISSING"));
  EXPECT_TRUE(Contains(message, "-X sasl.password"));

  TempFile props("sasl.password=${env:KCANARY_TEST_MISSING}\n");
  const std::string from_file = ParseError({"run", "-F", props.path()});
  EXPECT_TRUE(Contains(from_file, "KCANARY_TEST_MISSING"));
  EXPECT_TRUE(Contains(from_file, props.path()));
}

TEST_F(CommandLineEnvTest, UnreadableSecretFileNamesPath) {
  const std::string path = ::testing::TempDir() + "kcanary_missing_secret";
  EXPECT_TRUE(Contains(ParseError({"run", "-X", "ssl.key.password=${file:" + path + "}"}), path));
}

TEST(CommandLineTest, MissingPropertiesFileNamesFlagPathAndReason) {
  const std::string path = ::testing::TempDir() + "kcanary_missing.properties";
  const std::string message = ParseError({"run", "-F", path});
  EXPECT_TRUE(Contains(message, "-F"));
  EXPECT_TRUE(Contains(message, path));
  EXPECT_TRUE(Contains(message, "No such file or directory"));
}

TEST(CommandLineTest, BadPropertiesFileLineNamesFileAndLine) {
  TempFile file("acks=all\nsasl.password hunter2\n");
  const std::string message = ParseError({"run", "-F", file.path()});
  EXPECT_TRUE(Contains(message, file.path() + ":2:"));
  EXPECT_TRUE(Lacks(message, "hunter2"));
}

TEST(CommandLineTest, LaterPropertiesFileWins) {
  TempFile first("acks=0\nlinger.ms=1\n");
  TempFile second("acks=all\n");
  const Config config = ParseOk({"run", "-F", first.path(), "-F", second.path()});
  EXPECT_EQ(config.common_props.at("acks"), "all");
  EXPECT_EQ(config.common_props.at("linger.ms"), "1");
}

// ---- validation errors -----------------------------------------------------------

struct BadArgs {
  std::vector<std::string> args;
  std::string flag;       // the message must name it
  std::string bad_value;  // ... and quote this (empty: nothing to quote)
};

void PrintTo(const BadArgs& bad, std::ostream* os) {
  for (const std::string& arg : bad.args) *os << arg << " ";
}

class CommandLineErrorTest : public ::testing::TestWithParam<BadArgs> {};

TEST_P(CommandLineErrorTest, ExitsTwoNamingFlagAndValue) {
  const BadArgs& bad = GetParam();
  const std::string message = ParseError(bad.args);
  EXPECT_TRUE(Contains(message, bad.flag));
  if (!bad.bad_value.empty()) {
    EXPECT_TRUE(Contains(message, "'" + bad.bad_value + "'"));
  }
  EXPECT_TRUE(Contains(message, "kcanary " + bad.args.front() + ": "));
}

INSTANTIATE_TEST_SUITE_P(
    Validation, CommandLineErrorTest,
    ::testing::Values(
        BadArgs{{"run", "-X", "acks"}, "-X", "acks"}, BadArgs{{"run", "-X", "=all"}, "-X", ""},
        BadArgs{{"run", "-X", "  =all"}, "-X", ""},
        BadArgs{{"run", "-X", "canary.=1"}, "-X", "canary."}, BadArgs{{"run", "-X"}, "-X", ""},
        BadArgs{{"run", "--rate", "fast"}, "--rate", "fast"},
        BadArgs{{"run", "--rate", "0"}, "--rate", "0"},
        BadArgs{{"canary", "-b", "k:1", "--rate=-5"}, "--rate", "-5"},
        BadArgs{{"run", "--rate", "1000001"}, "--rate", "1000001"},
        BadArgs{{"run", "--message-size", "63"}, "--message-size", "63"},
        BadArgs{{"run", "--message-size", "16777217"}, "--message-size", "16777217"},
        BadArgs{{"run", "--message-size", "1k"}, "--message-size", "1k"},
        BadArgs{{"run", "--partitions", "0"}, "--partitions", "0"},
        BadArgs{{"run", "--partitions", "1025"}, "--partitions", "1025"},
        BadArgs{{"run", "--listen", "9642"}, "--listen", "9642"},
        BadArgs{{"run", "--listen", "localhost:65536"}, "--listen", "localhost:65536"},
        BadArgs{{"verify", "-b", "k:1", "--listen", "host:port"}, "--listen", "host:port"},
        BadArgs{{"run", "--log-level", "verbose"}, "--log-level", "verbose"},
        BadArgs{{"run", "--topic", "a/b"}, "--topic", "a/b"},
        BadArgs{{"run", "--topic", ""}, "--topic", ""},
        BadArgs{{"run", "--state-dir", ""}, "--state-dir", ""},
        BadArgs{{"run", "--group", ""}, "--group", ""},
        BadArgs{{"run", "--brokers", ""}, "--brokers", ""},
        BadArgs{{"run", "--brokers", "a:1,,b:1"}, "--brokers", "a:1,,b:1"},
        BadArgs{{"run", "--brokers"}, "--brokers", ""},
        BadArgs{{"run", "-b", "-X", "acks=all"}, "--brokers", "-X"},
        BadArgs{{"run", "--bogus"}, "unknown option", "--bogus"},
        BadArgs{{"run", "--bogus=1"}, "unknown option", "--bogus=1"},
        BadArgs{{"run", "stray"}, "unexpected argument", "stray"},
        BadArgs{{"run", "--", "-b"}, "unexpected argument", "-b"},
        BadArgs{{"verify", "-b", "k:1", "--rate", "5"}, "--rate", ""},
        BadArgs{{"canary", "-b", "k:1", "--partitions", "5"}, "--partitions", ""},
        BadArgs{{"run", "--version"}, "unknown option", "--version"},
        BadArgs{{"run", "--listen-tls-cert", ""}, "--listen-tls-cert", ""},
        BadArgs{
            {"run", "--listen-tls-cert", "c.pem"}, "--listen-tls-cert: needs --listen-tls-key", ""},
        BadArgs{{"verify", "-b", "k:1", "--listen-tls-key", "k.pem"},
                "--listen-tls-key: needs --listen-tls-cert",
                ""},
        BadArgs{
            {"run", "--listen", "none", "--listen-tls-cert", "c.pem", "--listen-tls-key", "k.pem"},
            "--listen-tls-cert: there is no listener",
            ""}));

// ---- secrets never appear in messages -----------------------------------------------

class SecretNotEchoedTest : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(SecretNotEchoedTest, MessageOmitsSecret) {
  const std::string message = ParseError(GetParam());
  EXPECT_TRUE(Lacks(message, "hunter2"));
}

INSTANTIATE_TEST_SUITE_P(
    Secrets, SecretNotEchoedTest,
    ::testing::Values(
        // -X with a space instead of '=': the password becomes a stray argument.
        std::vector<std::string>{"run", "-X", "sasl.password", "hunter2"},
        std::vector<std::string>{"run", "-X", "sasl.password:hunter2"},
        std::vector<std::string>{"run", "-X", "=hunter2"},
        // -X forgotten.
        std::vector<std::string>{"run", "sasl.password=hunter2"},
        std::vector<std::string>{"run", "--sasl.password=hunter2"},
        std::vector<std::string>{"--ssl.key.password=hunter2"},
        std::vector<std::string>{"run", "-X", "canary.ssl.key.pem=hunter2", "--rate", "0"},
        // An error about one key must not print the others.
        std::vector<std::string>{"run", "-X", "sasl.password=hunter2", "-X", "acks"},
        std::vector<std::string>{"canary", "-X", "sasl.password=hunter2"}));

}  // namespace
}  // namespace kcanary
