// Client properties files (-F): the key=value format of librdkafka's and
// Java's client.properties, and the Properties map used for every librdkafka
// configuration in kcanary.
//
//   # client.properties
//   bootstrap.servers = kafka-1:9092,kafka-2:9092
//   security.protocol=SASL_SSL
//   sasl.password=${env:KAFKA_PASSWORD}
//
//   StatusOr<Properties> props = ParsePropertiesFile("client.properties");
//
// Parsing returns keys and values as written: routing by prefix (canary.,
// verifier.) and ${...} expansion are done by the command-line parser.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kcanary {

// librdkafka configuration: property name -> value. Ordered, so dumps and
// comparisons are deterministic.
using Properties = std::map<std::string, std::string>;

// Parses properties text. One `key=value` per line: the first '=' separates key
// from value (later ones belong to the value); whitespace around key and value
// is trimmed; blank lines and lines whose first non-blank character is '#' or
// '!' are ignored; CRLF line ends and a UTF-8 byte-order mark are accepted; a
// repeated key keeps its last value. A line without '=' or with an empty key is
// kInvalidArgument "<source_name>:<line>: ..." which never quotes the line, as
// it may hold a secret. Not supported (unlike Java): ':' or blank as the
// separator, backslash escapes and line continuations.
StatusOr<Properties> ParseProperties(std::string_view text, std::string_view source_name);

// Reads and parses the file at `path`. An unreadable file is kIoError naming
// the path and the OS reason.
StatusOr<Properties> ParsePropertiesFile(const std::string& path);

}  // namespace kcanary
