// TempFile: a uniquely named file under the test temp dir, removed when the
// object goes out of scope; for -F and ${file:} tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

namespace kcanary::testing {

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    static int counter = 0;
    path_ = ::testing::TempDir() + "kcanary_config_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++);
    std::ofstream out(path_, std::ios::binary);
    out << content;
    EXPECT_TRUE(out.good()) << path_;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kcanary::testing
