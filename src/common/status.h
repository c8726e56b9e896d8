// Status and Result<T>: irene's one error convention. Library code returns them;
// the CLI and the HTTP server turn them into exit codes and JSON errors, once, at the edge.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace irene {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something not allowed (bad size, bad flag)
  kNotFound,         // a named thing (model, file, node) does not exist
  kCorrupt,          // a file exists but its content is malformed
  kUnsupported,      // well-formed but outside what irene implements (architecture, dtype)
  kIoError,          // the operating system refused (unreadable file, full disk)
  kCancelled,        // the caller stopped the work
  kInternal,         // a bug in irene
};

// Name of a code as used in JSON errors and logs ("invalid_argument", ...).
const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
  static Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: batch_size must be ..."
  std::string to_string() const;

  // True when the fault lies with the caller's input (CLI exit 2, HTTP 4xx).
  bool is_user_error() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                              // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).is_ok()); }  // NOLINT

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace irene

#define IRENE_CONCAT_INNER_(a, b) a##b
#define IRENE_CONCAT_(a, b) IRENE_CONCAT_INNER_(a, b)

// Return a failed Status from the calling function.
#define IRENE_RETURN_IF_ERROR(expr)                      \
  do {                                                   \
    ::irene::Status irene_status_ = (expr);              \
    if (!irene_status_.is_ok()) return irene_status_;    \
  } while (0)

// `IRENE_ASSIGN_OR_RETURN(auto x, make_x());`: unwrap a Result or return its Status.
#define IRENE_ASSIGN_OR_RETURN(lhs, expr)                                      \
  auto IRENE_CONCAT_(irene_result_, __LINE__) = (expr);                        \
  if (!IRENE_CONCAT_(irene_result_, __LINE__).is_ok())                         \
    return IRENE_CONCAT_(irene_result_, __LINE__).status();                    \
  lhs = std::move(IRENE_CONCAT_(irene_result_, __LINE__)).value()
