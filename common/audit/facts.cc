#include "common/audit/facts.h"

namespace kcanary::audit {

std::string_view ConfigSourceName(ConfigSource source) {
  switch (source) {
    case ConfigSource::kTopicOverride:
      return "topic override";
    case ConfigSource::kDynamicBroker:
      return "broker (dynamic)";
    case ConfigSource::kDynamicClusterDefault:
      return "cluster-wide default (dynamic)";
    case ConfigSource::kStaticBroker:
      return "broker (static)";
    case ConfigSource::kDefault:
      return "Kafka default";
    case ConfigSource::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace kcanary::audit
