// Small helpers for reading sysfs attribute files (internal to irene_meters).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace irene::profile::detail {

// "<root>/<relative>" without doubling the slash when root ends with one.
std::string join_path(const std::string& root, const std::string& relative);

// The file's whole content (sysfs attributes are a few bytes). The error names the file and
// the operating system's reason; `permission_hint` is appended when the reason is
// EACCES/EPERM, so callers can say how to grant access.
Result<std::string> read_small_file(const std::string& path, const std::string& permission_hint = "");

// The content without surrounding whitespace (sysfs values end with a newline).
std::string_view trim(std::string_view text);

// A decimal unsigned integer, the whole (trimmed) text; a corrupt Status naming `path` if not.
Result<uint64_t> parse_unsigned(std::string_view text, const std::string& path);

// read_small_file + parse_unsigned.
Result<uint64_t> read_unsigned_file(const std::string& path, const std::string& permission_hint = "");

}  // namespace irene::profile::detail
