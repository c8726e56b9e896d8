#include "profile/meters/sysfs_file.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace irene::profile::detail {

std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  if (root.back() == '/') return root + relative;
  return root + "/" + relative;
}

Result<std::string> read_small_file(const std::string& path, const std::string& permission_hint) {
  // POSIX calls rather than iostreams: we need errno to tell "not readable" from "absent".
  auto failure = [&](const char* step, int err) {
    std::string message = "cannot " + std::string(step) + " " + path + ": " + std::strerror(err);
    if ((err == EACCES || err == EPERM) && !permission_hint.empty()) message += "; " + permission_hint;
    if (err == ENOENT) return Status::not_found(message);
    return Status::io_error(message);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure("open", errno);
  std::string content;
  char buffer[256];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return failure("read", err);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string_view trim(std::string_view text) {
  const char* kSpace = " \t\r\n";
  size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Result<uint64_t> parse_unsigned(std::string_view text, const std::string& path) {
  std::string_view digits = trim(text);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Status::corrupt(path + " should hold an unsigned integer, found \"" + std::string(digits) + "\"");
  }
  return value;
}

Result<uint64_t> read_unsigned_file(const std::string& path, const std::string& permission_hint) {
  IRENE_ASSIGN_OR_RETURN(std::string text, read_small_file(path, permission_hint));
  return parse_unsigned(text, path);
}

}  // namespace irene::profile::detail
