// ExpandReferences: resolves ${env:NAME} and ${file:PATH} inside a property
// value, so secrets can come from the environment or a mounted file instead of
// the command line (where `ps` shows them) or a world-readable config file.
//
//   -X sasl.password=${env:KAFKA_PASSWORD}
//   -X ssl.key.password=${file:/run/secrets/key-password}
//   -X sasl.jaas.config=... password="${env:PW}";   // references may be embedded
//
// Internal to kcanary_config; the command-line parser applies it to every -X
// and -F value.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace kcanary {

// Replaces every ${env:NAME} with the environment variable NAME and every
// ${file:PATH} with PATH's content minus one trailing newline ("\n" or
// "\r\n"). Substituted text is not scanned again. Any other "${" is kept
// verbatim, since librdkafka values never use that syntax. Errors (unset
// variable, unreadable file, unterminated or empty reference) name the variable
// or path but never include the value or the substituted text.
StatusOr<std::string> ExpandReferences(std::string_view value);

}  // namespace kcanary
