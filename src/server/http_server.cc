// The one file that knows cpp-httplib: the route table, the JSON error shape for every
// failure (including 404s and oversized bodies), request logging, static files.
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>

#include "server/api.h"

namespace irene::server {

namespace {

using Handler = ApiResponse (Api::*)(const ApiRequest&);

struct Route {
  const char* method;
  const char* pattern;  // regex; a capture group is the {id}
  Handler handler;
};

// Every route of the API, in one place.
constexpr Route kRoutes[] = {
    {"GET", "/api/health", &Api::health},
    {"GET", "/api/models", &Api::models},
    {"GET", "/api/machines", &Api::machines},
    {"GET", "/api/energy", &Api::energy},
    {"GET", "/api/tree", &Api::tree},
    {"POST", "/api/energy", &Api::post_energy},
    {"POST", "/api/tree", &Api::post_tree},
    {"GET", "/api/serving", &Api::serving},
    {"POST", "/api/serving", &Api::post_serving},
    {"GET", "/api/advise", &Api::advise},
    {"POST", "/api/advise", &Api::post_advise},
    {"GET", "/api/leaderboard", &Api::leaderboard},
    {"GET", "/api/whatif", &Api::whatif},
    {"GET", "/api/openapi.json", &Api::openapi},
    {"POST", "/api/profiles", &Api::create_profile},
    {"GET", "/api/profiles", &Api::list_profiles},
    {"POST", "/api/advise/jobs", &Api::create_advise_job},
    {"GET", "/api/advise/jobs", &Api::list_advise_jobs},
    {"GET", R"(/api/advise/jobs/([A-Za-z0-9_-]+))", &Api::get_advise_job},
    {"DELETE", R"(/api/advise/jobs/([A-Za-z0-9_-]+))", &Api::cancel_advise_job},
    {"GET", R"(/api/profiles/([A-Za-z0-9_-]+))", &Api::get_profile},
    {"DELETE", R"(/api/profiles/([A-Za-z0-9_-]+))", &Api::cancel_profile},
    {"GET", "/api/campaigns", &Api::list_campaigns},
    {"GET", R"(/api/campaigns/([A-Za-z0-9][A-Za-z0-9_.-]*))", &Api::get_campaign},
};

thread_local std::chrono::steady_clock::time_point t_request_start;
httplib::Server* g_server = nullptr;

// gzip (RFC 1952) of `text` with zlib's default level.
std::string gzip(const std::string& text) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, text.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

// Compressed copies of the answers the cache shares between requests, so that a popular
// tree is compressed once rather than per request (httplib would compress every time).
// Keyed by the shared body; a weak pointer tells a body still alive from a new one at
// the same address. Bounded: the oldest copies go first.
class GzipCopies {
 public:
  std::shared_ptr<const std::string> of(const std::shared_ptr<const std::string>& body) {
    std::lock_guard lock(mutex_);
    auto it = copies_.find(body.get());
    if (it != copies_.end() && it->second.source.lock() == body) return it->second.gz;
    auto gz = std::make_shared<const std::string>(gzip(*body));
    if (gz->empty()) return nullptr;
    if (it == copies_.end()) order_.push_back(body.get());
    copies_[body.get()] = {body, gz};
    while (order_.size() > kMaxCopies) {
      copies_.erase(order_.front());
      order_.pop_front();
    }
    return gz;
  }

 private:
  static constexpr size_t kMaxCopies = 256;
  struct Copy {
    std::weak_ptr<const std::string> source;
    std::shared_ptr<const std::string> gz;
  };
  std::mutex mutex_;
  std::map<const std::string*, Copy> copies_;
  std::deque<const std::string*> order_;
};

GzipCopies g_gzip_copies;

bool accepts_gzip(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept-Encoding");
  return accept.find("gzip") != std::string::npos && accept.find("gzip;q=0") == std::string::npos;
}

// Small answers (errors) go as they are; large ones compressed when the client takes gzip.
void write(const httplib::Request& req, httplib::Response& res, const ApiResponse& r) {
  res.status = r.status;
  res.set_header("Vary", "Accept-Encoding");
  std::shared_ptr<const std::string> gz;
  if (r.body->size() >= 1024 && accepts_gzip(req)) gz = g_gzip_copies.of(r.body);
  if (!gz) {
    res.set_content(*r.body, r.content_type);
    return;
  }
  // A content provider with a known length is sent as it is: httplib compresses only
  // set_content bodies, and would compress this one a second time.
  res.set_header("Content-Encoding", "gzip");
  res.set_content_provider(gz->size(), r.content_type, [gz](size_t offset, size_t length, httplib::DataSink& sink) {
    sink.write(gz->data() + offset, length);
    return true;
  });
}

// Debian's cpp-httplib (0.11) compresses for any client that accepts brotli with brotli
// at its slowest setting: ~0.8 s of CPU for one 187 KB energy tree and ~0.7 s for
// d3.min.js, where gzip takes ~2 ms and ~16 ms for a body 10-20 % larger. API answers
// are compressed by write() above; for the static files httplib chooses, so "br" is taken
// out of Accept-Encoding first (every browser accepts gzip). The Request is httplib's own
// non-const object, handed to handlers as const by convention.
void prefer_gzip(const httplib::Request& req) {
  auto it = req.headers.find("Accept-Encoding");
  if (it == req.headers.end()) return;
  std::string kept;
  std::stringstream codings(it->second);
  for (std::string coding; std::getline(codings, coding, ',');) {
    const size_t first = coding.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    coding = coding.substr(first);
    const std::string name = coding.substr(0, coding.find_first_of("; "));
    if (name == "br") continue;
    kept += (kept.empty() ? "" : ", ") + coding;
  }
  const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
  if (!kept.empty()) const_cast<httplib::Request&>(req).headers.emplace("Accept-Encoding", kept);
}

// The methods the route table has for `path` ("GET, POST"), or "" when no route matches it.
std::string allowed_methods(const std::string& path) {
  std::string allowed;
  for (const Route& route : kRoutes)
    if (std::regex_match(path, std::regex(route.pattern)) && allowed.find(route.method) == std::string::npos)
      allowed += (allowed.empty() ? "" : ", ") + std::string(route.method);
  return allowed;
}

void on_signal(int) {
  if (g_server) g_server->stop();
}

}  // namespace

Status serve(const ServerOptions& options) {
  IRENE_ASSIGN_OR_RETURN(std::unique_ptr<Api> api, Api::create(options));
  httplib::Server svr;
  const int threads = std::max(2, options.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(kMaxBodyBytes);
  svr.set_keep_alive_max_count(1000);
  // Headers and a small (compressed) body go out as separate writes; without this, Nagle's
  // algorithm holds the body until the client's delayed ACK (tens of milliseconds).
  svr.set_tcp_nodelay(true);

  for (const Route& route : kRoutes) {
    auto handler = [&api, route](const httplib::Request& req, httplib::Response& res) {
      ApiRequest r;
      for (const auto& [k, v] : req.params) r.query[k] = v;
      r.body = req.body;
      if (req.matches.size() > 1) r.id = req.matches[1];
      write(req, res, ((*api).*route.handler)(r));
    };
    const std::string m = route.method;
    if (m == "GET") svr.Get(route.pattern, handler);
    if (m == "POST") svr.Post(route.pattern, handler);
    if (m == "DELETE") svr.Delete(route.pattern, handler);
  }

  if (!options.web_dir.empty()) {
    if (!std::filesystem::is_directory(options.web_dir))
      return Status::not_found("--web: '" + options.web_dir + "' is not a folder");
    // httplib refuses paths that climb out of the mount ("..") itself.
    svr.set_mount_point("/", options.web_dir);
  }

  svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    t_request_start = std::chrono::steady_clock::now();
    prefer_gzip(req);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    write(req, res, ApiResponse::error(500, "internal", what));
  });
  // Failures httplib answers itself (no route, body too large, bad request) get the
  // same JSON shape as the API's own errors.
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      if (std::string allowed = allowed_methods(req.path); !allowed.empty()) {
        res.set_header("Allow", allowed);
        write(req, res, ApiResponse::error(405, "method_not_allowed",
                                      req.method + " is not allowed on " + req.path + "; allowed: " + allowed));
        return;
      }
      write(req, res, ApiResponse::error(404, "not_found", "no such endpoint or file: " + req.method + " " + req.path));
    }
    else if (res.status == 413)
      write(req, res, ApiResponse::error(413, "too_large", "request body over " + std::to_string(kMaxBodyBytes) + " bytes"));
    else
      write(req, res, ApiResponse::error(res.status, "invalid_argument", "bad request"));
  });
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_request_start).count();
    spdlog::info("{} {} {} {:.2f} ms", req.method, req.path, res.status, ms);
  });

  if (!svr.bind_to_port(options.host, options.port))
    return Status::invalid_argument("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                                    " (in use, or not an address of this machine)");
  g_server = &svr;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  spdlog::info("irene serving on http://{}:{}/ (dashboard{})", options.host, options.port,
               options.web_dir.empty() ? " off" : " from " + options.web_dir);
  const bool ok = svr.listen_after_bind();
  g_server = nullptr;
  if (!ok) return Status::io_error("the server stopped with an error");
  spdlog::info("irene server stopped");
  return Status::ok();
}

}  // namespace irene::server
