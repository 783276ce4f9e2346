// The tables behind kcanary's command line: one row per subcommand and one per
// option. The parser (command_line.cc) and the help text (help.cc) are both
// generated from them, so adding a subcommand such as `audit` takes a Command
// value, a CommandSpec row, its bit on the shared options it accepts, and a row
// plus a Set* validator for each option of its own.
//
// Internal to kcanary_config.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/config/config.h"
#include "common/status.h"

namespace kcanary::cli {

// A set of commands, one bit per Command value.
using CommandSet = uint32_t;
constexpr CommandSet Bit(Command command) { return 1u << static_cast<unsigned>(command); }

struct CommandSpec {
  Command command;
  std::string_view name;         // as typed: "run"
  std::string_view summary;      // one line in `kcanary --help`
  std::string_view description;  // paragraph opening `kcanary <name> --help`
  bool requires_brokers;         // false: no brokers at all starts the embedded mock cluster
  bool produces;                 // runs the canary, configured by Config::ProducerConfig()
  bool consumes;                 // runs the verifier, configured by Config::ConsumerConfig()
};

enum class OptionKind {
  kValue,           // a dedicated flag; repeated, the last one wins
  kProperty,        // -X KEY=VALUE, repeatable
  kPropertiesFile,  // -F FILE, repeatable
};

struct OptionSpec {
  std::string_view short_name;  // "-b", or empty
  std::string_view long_name;   // "--brokers", or empty
  std::string_view value_name;  // placeholder in help: "HOST:PORT"
  std::string_view help;        // what it does, with units and range
  OptionKind kind;
  CommandSet commands;  // which commands accept it
  // Default shown in help, computed from Config{} where possible so it cannot
  // drift from the real default; nullptr when there is none.
  std::string (*default_text)();
  // Validates and stores a kValue option's value; nullptr for the others.
  Status (*apply)(std::string_view value, Config& config);
};

std::span<const CommandSpec> Commands();
std::span<const OptionSpec> Options();

// nullptr when `name` is not a command.
const CommandSpec* FindCommand(std::string_view name);
const CommandSpec& GetCommand(Command command);

inline bool Accepts(const OptionSpec& option, Command command) {
  return (option.commands & Bit(command)) != 0;
}

// The name used in messages: the long name if there is one ("--brokers"),
// else the short one ("-X").
inline std::string_view FlagName(const OptionSpec& option) {
  return option.long_name.empty() ? option.short_name : option.long_name;
}

// "-b, --brokers", "-X", "--rate".
std::string DisplayNames(const OptionSpec& option);

}  // namespace kcanary::cli
