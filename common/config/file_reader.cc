#include "common/config/file_reader.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace kcanary {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

Status OsError(const std::string& path, int error) {
  // std::error_code's message is thread-safe, unlike std::strerror.
  return Status::IoError("cannot read '" + path +
                         "': " + std::error_code(error, std::generic_category()).message());
}

}  // namespace

StatusOr<std::string> ReadFileToString(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return OsError(path, errno);

  std::string content;
  char buffer[8192];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof(buffer), file.get());
    content.append(buffer, n);
    if (content.size() > kMaxConfigFileBytes) {
      return Status::IoError("cannot read '" + path + "': larger than " +
                             std::to_string(kMaxConfigFileBytes) + " bytes");
    }
    if (n < sizeof(buffer)) break;
  }
  // fopen succeeds on a directory on Linux; the read then fails with EISDIR.
  if (std::ferror(file.get())) return OsError(path, errno != 0 ? errno : EIO);
  return content;
}

}  // namespace kcanary
