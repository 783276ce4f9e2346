// ParseCommandLine: CLI11 splits argv into a subcommand and option values;
// every value is then validated here, so that all messages follow one format
// ("kcanary <command>: <flag>: <problem>") and none echoes a secret.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <set>
#include <utility>
#include <vector>

#include "common/config/cli_spec.h"
#include "common/config/config.h"
#include "common/config/help.h"
#include "common/config/properties.h"
#include "common/config/references.h"
#include "common/config/secrets.h"

namespace kcanary {
namespace {

using cli::CommandSpec;
using cli::OptionKind;
using cli::OptionSpec;

constexpr std::string_view kProducerPrefix = "canary.";
constexpr std::string_view kConsumerPrefix = "verifier.";

struct RegisteredOption {
  const OptionSpec* spec;
  CLI::Option* option;
};

struct RegisteredCommand {
  const CommandSpec* spec;
  CLI::App* app;
  std::vector<RegisteredOption> options;
};

ParseResult UsageError(std::string message) {
  return ParseResult{.exit_code = 2, .output = std::move(message) + "\n", .config = std::nullopt};
}

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\r\n\f\v";
  const std::size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

// An unexpected argument is echoed in the error, unless it looks like
// "[--]key=value" with a secret key (say, a forgotten -X).
std::string SafeToShow(std::string_view arg) {
  const std::size_t eq = arg.find('=');
  std::string_view key = arg.substr(0, eq);
  while (key.starts_with('-')) key.remove_prefix(1);
  if (IsSecretKey(key)) {
    return eq == std::string_view::npos
               ? Quote(kRedacted)
               : Quote(std::string(arg.substr(0, eq + 1)) + std::string(kRedacted));
  }
  return Quote(arg);
}

const OptionSpec* FindOption(std::string_view name) {
  for (const OptionSpec& option : cli::Options()) {
    if (name == option.short_name || name == option.long_name) return &option;
  }
  return nullptr;
}

// Where CLI11 left an argument it could not place.
enum class Where { kBeforeCommand, kInCommand, kAfterDoubleDash };

// The message (without "kcanary <command>: ") for an argument CLI11 could not
// place. `command` is null when no command was given.
std::string DescribeExtra(std::string_view arg, const CommandSpec* command, Where where) {
  const std::string command_name = command != nullptr ? std::string(command->name) : "<command>";
  if (where != Where::kAfterDoubleDash && arg.size() > 1 && arg.starts_with('-')) {
    const std::string_view name = arg.substr(0, arg.find('='));
    if (FindOption(name) == nullptr) return "unknown option " + SafeToShow(arg);
    if (where == Where::kBeforeCommand) {
      return Quote(name) + " must follow the command: kcanary " + command_name + " " +
             std::string(name) + " ...";
    }
    return std::string(name) + " is not an option of " + command_name + " (see kcanary " +
           command_name + " --help)";
  }
  if (command == nullptr) {
    std::string names;
    for (const CommandSpec& spec : cli::Commands()) {
      names += names.empty() ? "" : ", ";
      names += spec.name;
    }
    return "unknown command " + SafeToShow(arg) + " (commands: " + names + ")";
  }
  return "unexpected argument " + SafeToShow(arg);
}

bool IsKnownOptionName(std::string_view arg) {
  return arg == "-h" || arg == "--help" || arg == "--version" || FindOption(arg) != nullptr;
}

// Puts one property into common, producer or consumer properties by its prefix,
// expanding ${env:} and ${file:} in the value. `where` names its source in
// messages ("-X", "-F client.properties").
Status AddProperty(std::string_view key, std::string_view value, const std::string& where,
                   Config& config) {
  Properties* target = &config.common_props;
  std::string_view name = key;
  if (key.starts_with(kProducerPrefix)) {
    target = &config.producer_props;
    name.remove_prefix(kProducerPrefix.size());
  } else if (key.starts_with(kConsumerPrefix)) {
    target = &config.consumer_props;
    name.remove_prefix(kConsumerPrefix.size());
  }
  if (name.empty()) {
    return Status::InvalidArgument(where + ": " + Quote(key) +
                                   " names no property after the prefix");
  }
  StatusOr<std::string> expanded = ExpandReferences(value);
  if (!expanded.ok()) {
    return Status::InvalidArgument(where + " " + std::string(key) + ": " +
                                   expanded.status().message());
  }
  (*target)[std::string(name)] = std::move(expanded).value();
  return Status::Ok();
}

struct PropertyArg {
  std::string key;
  std::string value;
};

// Splits each -X argument at its first '='. Messages never show a value, and
// show the argument itself only when it cannot be hiding a secret.
StatusOr<std::vector<PropertyArg>> SplitPropertyArgs(const std::vector<std::string>& args) {
  std::vector<PropertyArg> out;
  for (const std::string& arg : args) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      if (IsSecretKey(arg)) {
        return Status::InvalidArgument(
            "-X: the argument for a secret property has no '=' (expected KEY=VALUE; not shown)");
      }
      return Status::InvalidArgument("-X: " + Quote(arg) + " is not KEY=VALUE (no '=')");
    }
    const std::string_view key = Trim(std::string_view(arg).substr(0, eq));
    if (key.empty()) return Status::InvalidArgument("-X: empty key before '=' in KEY=VALUE");
    out.push_back({std::string(key), std::string(Trim(std::string_view(arg).substr(eq + 1)))});
  }
  return out;
}

std::string BootstrapServers(const Properties& props) {
  const auto it = props.find("bootstrap.servers");
  return it == props.end() ? std::string() : it->second;
}

// Without --brokers, brokers come from bootstrap.servers in -X/-F, provided
// every role this command runs agrees on them; otherwise applying `brokers`
// last in ProducerConfig()/ConsumerConfig() would change what -X/-F asked for.
Status ResolveBrokers(const CommandSpec& command, Config& config) {
  std::set<std::string> servers;
  if (command.produces) servers.insert(BootstrapServers(config.ProducerConfig()));
  if (command.consumes) servers.insert(BootstrapServers(config.ConsumerConfig()));
  if (!command.produces && !command.consumes) {
    servers.insert(BootstrapServers(config.AdminConfig()));
  }
  if (servers.size() > 1) {
    return Status::InvalidArgument(
        "bootstrap.servers from -X/-F differs between canary and verifier (or is set for only "
        "one); pass --brokers, or run 'canary' and 'verify' separately");
  }
  if (servers.size() == 1) config.brokers = *servers.begin();
  if (config.brokers.empty() && command.requires_brokers) {
    return Status::InvalidArgument(
        "--brokers HOST:PORT[,...] is required (or bootstrap.servers via -X/-F)");
  }
  return Status::Ok();
}

ParseResult Parse(int argc, const char* const* argv, std::string_view version) {
  CLI::App app("", "kcanary");
  app.set_help_flag("-h,--help");
  app.set_version_flag("--version", std::string(version));
  // Unknown arguments are reported by this file, not CLI11, so that they are
  // checked for secrets first.
  app.allow_extras();
  app.require_subcommand(0, 1);

  std::vector<RegisteredCommand> commands;
  for (const CommandSpec& spec : cli::Commands()) {
    RegisteredCommand registered{&spec, app.add_subcommand(std::string(spec.name)), {}};
    registered.app->allow_extras();
    for (const OptionSpec& option : cli::Options()) {
      if (!cli::Accepts(option, spec.command)) continue;
      std::string names(option.short_name);
      if (!option.long_name.empty()) {
        if (!names.empty()) names += ",";
        names += option.long_name;
      }
      CLI::Option* cli_option = registered.app->add_option(names);
      cli_option->type_name(std::string(option.value_name))->expected(1);
      if (option.kind == OptionKind::kValue) {
        cli_option->take_last();
      } else {
        cli_option->take_all();
      }
      registered.options.push_back({&option, cli_option});
    }
    commands.push_back(std::move(registered));
  }

  const auto selected = [&]() -> const RegisteredCommand* {
    for (const RegisteredCommand& command : commands) {
      if (command.app->parsed()) return &command;
    }
    return nullptr;
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    const RegisteredCommand* command = selected();
    return ParseResult{.exit_code = 0,
                       .output = command != nullptr ? cli::CommandHelp(*command->spec)
                                                    : cli::TopLevelHelp(version),
                       .config = std::nullopt};
  } catch (const CLI::CallForVersion&) {
    return ParseResult{
        .exit_code = 0, .output = "kcanary " + std::string(version) + "\n", .config = std::nullopt};
  } catch (const CLI::ParseError& e) {
    const RegisteredCommand* command = selected();
    const std::string prefix =
        command != nullptr ? "kcanary " + std::string(command->spec->name) + ": " : "kcanary: ";
    return UsageError(prefix + e.what());
  }

  const RegisteredCommand* command = selected();
  if (command == nullptr) {
    const std::vector<std::string> rest = app.remaining();
    if (rest.empty()) return UsageError("kcanary: no command given\n" + cli::Usage());
    return UsageError("kcanary: " + DescribeExtra(rest.front(), nullptr, Where::kBeforeCommand));
  }

  const CommandSpec& spec = *command->spec;
  const std::string prefix = "kcanary " + std::string(spec.name) + ": ";

  // Raw values by option, in command-line order.
  std::vector<std::string> property_args;
  std::vector<std::string> property_files;
  std::vector<std::pair<const OptionSpec*, std::string>> values;
  std::set<std::string_view> given;
  for (const RegisteredOption& registered : command->options) {
    const std::vector<std::string>& results = registered.option->results();
    if (results.empty()) continue;
    const std::string_view flag = cli::FlagName(*registered.spec);
    given.insert(flag);
    for (const std::string& value : results) {
      // CLI11 takes the next argument as the value even when it is another
      // option: `-b -X acks=all` would make "-X" the brokers.
      if (IsKnownOptionName(value)) {
        return UsageError(prefix + std::string(flag) + ": missing value (found option " +
                          Quote(value) + ")");
      }
    }
    switch (registered.spec->kind) {
      case OptionKind::kProperty:
        property_args.insert(property_args.end(), results.begin(), results.end());
        break;
      case OptionKind::kPropertiesFile:
        property_files.insert(property_files.end(), results.begin(), results.end());
        break;
      case OptionKind::kValue:
        values.emplace_back(registered.spec, results.back());
        break;
    }
  }

  // -X syntax before unknown arguments: in `-X sasl.password hunter2` the
  // password would otherwise be reported as an unexpected argument.
  StatusOr<std::vector<PropertyArg>> properties = SplitPropertyArgs(property_args);
  if (!properties.ok()) return UsageError(prefix + properties.status().message());

  // CLI11 leaves the command's unknown arguments with the command, and those
  // before it, or after "--", with the top level.
  if (!command->app->remaining().empty()) {
    return UsageError(prefix +
                      DescribeExtra(command->app->remaining().front(), &spec, Where::kInCommand));
  }
  if (!app.remaining().empty()) {
    const bool after_double_dash = std::any_of(
        argv + 1, argv + argc, [](const char* arg) { return std::string_view(arg) == "--"; });
    return UsageError(prefix + DescribeExtra(app.remaining().front(), &spec,
                                             after_double_dash ? Where::kAfterDoubleDash
                                                               : Where::kBeforeCommand));
  }

  Config config;
  config.command = spec.command;
  for (const auto& [option, value] : values) {
    const Status status = option->apply(value, config);
    if (!status.ok()) {
      return UsageError(prefix + std::string(cli::FlagName(*option)) + ": " + status.message());
    }
  }

  // -F before -X: later layers overwrite earlier ones in the same map.
  for (const std::string& path : property_files) {
    StatusOr<Properties> file = ParsePropertiesFile(path);
    if (!file.ok()) return UsageError(prefix + "-F: " + file.status().message());
    for (const auto& [key, value] : *file) {
      const Status status = AddProperty(key, value, "-F " + path, config);
      if (!status.ok()) return UsageError(prefix + status.message());
    }
  }
  for (const PropertyArg& property : *properties) {
    const Status status = AddProperty(property.key, property.value, "-X", config);
    if (!status.ok()) return UsageError(prefix + status.message());
  }

  if (!given.contains("--brokers")) {
    const Status status = ResolveBrokers(spec, config);
    if (!status.ok()) return UsageError(prefix + status.message());
  }
  if (given.contains("--partitions") && !config.brokers.empty()) {
    return UsageError(prefix +
                      "--partitions: sizes the embedded mock cluster's topic, which is not "
                      "started when brokers are given");
  }
  if (given.contains("--listen-tls-cert") != given.contains("--listen-tls-key")) {
    return UsageError(prefix + (given.contains("--listen-tls-cert")
                                    ? "--listen-tls-cert: needs --listen-tls-key too"
                                    : "--listen-tls-key: needs --listen-tls-cert too"));
  }
  if (given.contains("--listen-tls-cert") && config.listen == "none") {
    return UsageError(prefix + "--listen-tls-cert: there is no listener (--listen none)");
  }
  if (!given.contains("--group")) {
    // The effective group.id: -X/-F's if any, else the default from the topic.
    config.group_id = config.ConsumerConfig()["group.id"];
  }
  return ParseResult{.exit_code = 0, .output = {}, .config = std::move(config)};
}

}  // namespace

ParseResult ParseCommandLine(int argc, const char* const* argv, std::string_view version) {
  // CLI11 reads argv[0] and computes argc - 1 unchecked.
  static constexpr const char* kNoArguments[] = {"kcanary", nullptr};
  if (argc < 1 || argv == nullptr) {
    argc = 1;
    argv = kNoArguments;
  }
  try {
    return Parse(argc, argv, version);
  } catch (const std::exception& e) {
    return ParseResult{.exit_code = 1,
                       .output = std::string("kcanary: internal error: ") + e.what() + "\n",
                       .config = std::nullopt};
  } catch (...) {
    return ParseResult{
        .exit_code = 1, .output = "kcanary: internal error\n", .config = std::nullopt};
  }
}

}  // namespace kcanary
