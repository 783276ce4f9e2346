// The help and usage texts of kcanary's command line, rendered from the
// command and option tables in cli_spec.h.
//
// Internal to kcanary_config.
#pragma once

#include <string>
#include <string_view>

#include "common/config/cli_spec.h"

namespace kcanary::cli {

// `kcanary --help`: every command and every option, with defaults and units.
std::string TopLevelHelp(std::string_view version);

// `kcanary <command> --help`: that command's options.
std::string CommandHelp(const CommandSpec& command);

// The short usage printed after "no command given".
std::string Usage();

}  // namespace kcanary::cli
