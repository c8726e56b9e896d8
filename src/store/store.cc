#include "store/store.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <regex>

#include "store/backends.h"

namespace irene::store {

namespace {

// postgresql://user:secret@host/db?password=x -> postgresql://user:***@host/db?password=***
std::string redact(const std::string& url) {
  static const std::regex userinfo(R"(^([a-z]+://[^:/@?]*):[^@/?]*@)");
  static const std::regex param(R"(([?&]password=)[^&]*)");
  return std::regex_replace(std::regex_replace(url, userinfo, "$1:***@"), param, "$1***");
}

}  // namespace

Result<StoreUrl> parse_store_url(const std::string& url) {
  const std::string allowed = "sqlite:PATH, a file path, or postgresql://[user@]host[:port]/database";
  if (url.empty()) return Status::invalid_argument("--db: empty; give " + allowed);
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return StoreUrl{"postgresql", url, redact(url)};
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite:///abs/path as well as sqlite:/abs/path
    if (path.empty()) return Status::invalid_argument("--db '" + url + "': no file after sqlite:; give " + allowed);
    return StoreUrl{"sqlite", path, "sqlite:" + path};
  }
  if (const auto colon = url.find("://"); colon != std::string::npos)
    return Status::invalid_argument("--db '" + redact(url) + "': unknown scheme '" + url.substr(0, colon) +
                                    "'; give " + allowed);
  return StoreUrl{"sqlite", url, "sqlite:" + url};
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, const RetryPolicy& retry) {
  IRENE_ASSIGN_OR_RETURN(StoreUrl u, parse_store_url(url));
  if (u.backend == "postgresql") return open_postgres_store(u.target, u.redacted, retry);
  return open_sqlite_store(u.target, retry);
}

std::string default_store_url() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = xdg && *xdg ? xdg : (home && *home ? std::string(home) + "/.cache" : ".");
  return "sqlite:" + base + "/irene/cache.sqlite";
}

std::string iso_time_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

}  // namespace irene::store
