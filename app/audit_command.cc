#include "app/audit_command.h"

#include "app/audit_facts.h"
#include "common/audit/checks.h"
#include "common/audit/report.h"
#include "common/kafka/kafka_client.h"

namespace kcanary {
namespace {

constexpr int kTimeoutMs = 10000;

}  // namespace

int RunAudit(const Config& config, std::ostream& out, std::ostream& err) {
  Properties props = config.AdminConfig();
  StatusOr<rd_kafka_conf_t*> conf = BuildKafkaConf(props);
  if (!conf.ok()) {
    err << "kcanary audit: " << conf.status().message() << "\n";
    return 2;
  }
  StatusOr<KafkaHandle> admin = CreateKafkaClient(RD_KAFKA_PRODUCER, *conf);
  if (!admin.ok()) {
    err << "kcanary audit: " << admin.status().message() << "\n";
    return 2;
  }
  StatusOr<audit::AuditInput> input = GatherAuditInput(admin->get(), config, kTimeoutMs);
  if (!input.ok()) {
    if (input.status().code() == Status::Code::kUnavailable) {
      err << "kcanary audit: cannot read the cluster at " << config.brokers << " within "
          << kTimeoutMs / 1000 << " s: " << input.status().message() << "\n";
    } else {
      err << "kcanary audit: " << input.status().message() << "\n";
    }
    return 2;
  }
  const std::vector<audit::CheckResult> results = audit::Evaluate(*input);
  out << (config.output_format == "json" ? audit::RenderJson(results) : audit::RenderText(results));
  out.flush();
  return audit::ExitCode(results);
}

}  // namespace kcanary
