#include "models/hub_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace irene::models {

namespace fs = std::filesystem;

std::string hub_cache_dir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v && *v ? v : "";
  };
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HF_HOME").empty()) return env("HF_HOME") + "/hub";
  const std::string home = env("HOME");
  return (home.empty() ? std::string(".") : home) + "/.cache/huggingface/hub";
}

Result<std::string> find_cached_config(std::string_view repo_id, const std::string& cache_dir) {
  const size_t slash = repo_id.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == repo_id.size() ||
      repo_id.find('/', slash + 1) != std::string_view::npos || repo_id.find("..") != std::string_view::npos)
    return Status::invalid_argument("'" + std::string(repo_id) + "' is not a Hub id of the form ORG/NAME");
  const std::string folder = "models--" + std::string(repo_id.substr(0, slash)) + "--" + std::string(repo_id.substr(slash + 1));
  const fs::path repo = fs::path(cache_dir) / folder;
  const std::string looked = (repo / "snapshots" / "*" / "config.json").string();
  std::error_code ec;
  // The revision refs/main names, as huggingface_hub resolves "main".
  std::ifstream ref(repo / "refs" / "main");
  std::string revision;
  if (ref && std::getline(ref, revision) && !revision.empty()) {
    const fs::path config = repo / "snapshots" / revision / "config.json";
    if (fs::is_regular_file(config, ec)) return config.string();
  }
  fs::path newest;
  fs::file_time_type newest_time;
  for (fs::directory_iterator it(repo / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path config = it->path() / "config.json";
    if (!fs::is_regular_file(config, ec)) continue;
    const auto t = fs::last_write_time(config, ec);
    if (ec) continue;
    if (newest.empty() || t > newest_time) {
      newest = config;
      newest_time = t;
    }
  }
  if (!newest.empty()) return newest.string();
  return Status::not_found("'" + std::string(repo_id) + "' is not in the Hugging Face cache (looked for " + looked + ")");
}

}  // namespace irene::models
