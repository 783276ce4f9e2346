// StateKeys: where a role keeps its state in the store.
//
//   <role>/<namespace>/run                      the canary's run
//   <role>/<namespace>/p/<partition, 6 digits>  one partition's state
//
// The namespace is the topic (or "embedded/<topic>" for the mock cluster).
// This layout is persisted data: change it only with a schema version bump.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kcanary {

class StateKeys {
 public:
  StateKeys(std::string_view role, std::string_view state_namespace)
      : prefix_(std::string(role) + "/" + std::string(state_namespace) + "/") {}

  /// Everything of this role and namespace.
  const std::string& Prefix() const { return prefix_; }
  std::string RunKey() const { return prefix_ + "run"; }
  std::string PartitionPrefix() const { return prefix_ + "p/"; }
  std::string PartitionKey(int32_t partition) const {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%06d", partition);
    return PartitionPrefix() + buf;
  }

 private:
  std::string prefix_;
};

}  // namespace kcanary
