// ReadFileToString: the one place the config module reads files (-F property
// files and ${file:...} references), so both report OS errors the same way.
//
//   StatusOr<std::string> text = ReadFileToString("/etc/kcanary/client.properties");
//   if (!text.ok()) return text.status();  // "cannot read '...': No such file or directory"
//
// Internal to kcanary_config, and used by the service for --listen-auth.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace kcanary {

// Files above this size are refused: config files and secrets are small, and a
// typo such as ${file:/dev/zero} must not hang start-up or exhaust memory.
inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

// Returns the file's bytes. Errors are kIoError naming the path and the OS
// reason (never any of the content).
StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace kcanary
