#include "common/config/help.h"

#include <cstddef>

namespace kcanary::cli {
namespace {

constexpr std::size_t kWidth = 80;
constexpr std::string_view kUsageLine = "Usage: kcanary [--version] [--help] <command> [options]\n";

// Fills lines up to kWidth, each prefixed by `indent` spaces.
std::string Wrap(std::string_view text, std::size_t indent) {
  std::string out;
  std::size_t column = 0;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    if (word.empty()) continue;
    if (column > 0 && column + 1 + word.size() > kWidth) {
      out += '\n';
      column = 0;
    }
    if (column == 0) {
      out.append(indent, ' ');
      column = indent;
    } else {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  out += '\n';
  return out;
}

std::string CommandList(CommandSet commands) {
  std::string out;
  for (const CommandSpec& spec : Commands()) {
    if ((commands & Bit(spec.command)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += spec.name;
  }
  return out;
}

std::string OptionHelp(const OptionSpec& option, bool show_commands) {
  std::string out = "  " + DisplayNames(option) + " " + std::string(option.value_name) + "\n";
  std::string text(option.help);
  if (option.default_text != nullptr) text += " Default: " + option.default_text() + ".";
  if (show_commands) {
    CommandSet all = 0;
    for (const CommandSpec& spec : Commands()) all |= Bit(spec.command);
    if (option.commands != all) text += " Only for: " + CommandList(option.commands) + ".";
  }
  return out + Wrap(text, 6);
}

std::string PropertiesSection() {
  return "Client properties:\n" +
         Wrap(
             "librdkafka properties are layered, later wins: kcanary defaults (producer "
             "acks=all, enable.idempotence=true; consumer enable.auto.commit=false, "
             "auto.offset.reset=error) < -F files < -X < dedicated flags (--brokers, "
             "--group). A canary. or verifier. key beats the same key unprefixed.",
             2) +
         "\n" +
         Wrap(
             "A value may contain ${env:NAME} (an environment variable) or ${file:PATH} "
             "(a file's content without its trailing newline), so secrets need not be "
             "on the command line. Values of secret properties (sasl.password, "
             "ssl.key.password, ssl.key.pem, ...) are never printed or logged.",
             2) +
         "\nA bad option or value exits with status 2.\n";
}

}  // namespace

std::string TopLevelHelp(std::string_view version) {
  std::string out = "kcanary " + std::string(version) +
                    ": end-to-end message-loss detector for Apache Kafka\n\n" +
                    std::string(kUsageLine) + "\nCommands:\n";
  for (const CommandSpec& spec : Commands()) {
    std::string name = "  " + std::string(spec.name);
    name.resize(10, ' ');
    out += name + std::string(spec.summary) + "\n";
  }
  out += "\n" +
         Wrap(
             "With no --brokers, `kcanary run` starts an embedded mock Kafka cluster and "
             "monitors it.",
             0) +
         "\nOptions:\n";
  out += "  -h, --help\n" + Wrap("Show help; after a command, that command's help.", 6);
  out += "  --version\n" +
         Wrap("Show kcanary's version and that of the librdkafka linked into it.", 6);
  for (const OptionSpec& option : Options()) out += OptionHelp(option, /*show_commands=*/true);
  out += "\n" + PropertiesSection();
  return out;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string out = "Usage: kcanary " + std::string(command.name) + " [options]\n\n" +
                    Wrap(command.description, 0) + "\nOptions:\n";
  out += "  -h, --help\n" + Wrap("Show this help.", 6);
  for (const OptionSpec& option : Options()) {
    if (Accepts(option, command.command)) out += OptionHelp(option, /*show_commands=*/false);
  }
  out += "\n" + PropertiesSection();
  return out;
}

std::string Usage() {
  std::string out(kUsageLine);
  out += "Commands: " + CommandList(~CommandSet{0}) + ". Run 'kcanary --help' for details.\n";
  return out;
}

}  // namespace kcanary::cli
