// Internal to kcanary::audit: the checks on kcanary's own librdkafka configs
// (producer_acks, producer_retries, consumer_manual_commit), reported on the
// canary topic's rows. A key absent from the effective config takes
// librdkafka 2.x's default, which the row's value says.
#pragma once

#include <map>
#include <string>

#include "common/audit/checks.h"

namespace kcanary::audit {

using ClientConfig = std::map<std::string, std::string>;

CheckResult CheckProducerAcks(const std::string& topic, const ClientConfig& producer);
CheckResult CheckProducerRetries(const std::string& topic, const ClientConfig& producer);
CheckResult CheckConsumerManualCommit(const std::string& topic, const ClientConfig& consumer);

}  // namespace kcanary::audit
