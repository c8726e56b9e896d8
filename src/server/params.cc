#include "server/params.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <charconv>
#include <limits>
#include <cstdio>

#include "common/python_json.h"
#include "models/zoo.h"

namespace irene::server {

namespace {

Result<int64_t> parse_int(const std::string& name, const std::string& s, int64_t lo, int64_t hi) {
  const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    return Status::invalid_argument("parameter '" + name + "' must be " + range + ", got '" + s + "'");
  return v;
}

}  // namespace

Result<int64_t> int_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi) {
  auto it = r.query.find(name);
  if (it == r.query.end() || it->second.empty())
    return Status::invalid_argument("missing parameter '" + name + "': give an integer from " + std::to_string(lo) +
                                    " to " + std::to_string(hi));
  return parse_int(name, it->second, lo, hi);
}

Result<int64_t> optional_int_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi,
                                   int64_t fallback) {
  if (string_param(r, name).empty()) return fallback;
  return int_param(r, name, lo, hi);
}

Result<std::optional<double>> optional_number_param(const ApiRequest& r, const std::string& name, double lo,
                                                   double hi) {
  const std::string v = string_param(r, name);
  if (v.empty()) return std::optional<double>();
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(x) || !(x > lo) || x > hi)
    return Status::invalid_argument("parameter '" + name + "' must be a number above " + std::to_string(lo) +
                                    " and at most " + std::to_string(hi) + ", got '" + v + "'");
  return std::optional<double>(x);
}

Result<std::optional<double>> optional_share_param(const ApiRequest& r, const std::string& name) {
  const std::string v = string_param(r, name);
  if (v.empty()) return std::optional<double>();
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !(x >= 0 && x < 1))
    return Status::invalid_argument("parameter '" + name + "' must be a share from 0 to below 1, got '" + v + "'");
  return std::optional<double>(x);
}

Result<std::vector<std::string>> word_list_param(const ApiRequest& r, const std::string& name,
                                                 const std::vector<std::string>& allowed, size_t max_count) {
  std::vector<std::string> out;
  const std::string v = string_param(r, name);
  if (v.empty()) return out;
  size_t start = 0;
  while (start <= v.size()) {
    const size_t comma = v.find(',', start);
    const std::string word = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (word.empty() || (!allowed.empty() && std::find(allowed.begin(), allowed.end(), word) == allowed.end())) {
      std::string known;
      for (const std::string& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return Status::invalid_argument("parameter '" + name + "': '" + word + "' is not allowed" +
                                      (known.empty() ? std::string() : " (allowed: " + known + ")"));
    }
    out.push_back(word);
    if (out.size() > max_count)
      return Status::invalid_argument("parameter '" + name + "' takes at most " + std::to_string(max_count) + " values");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<std::vector<int64_t>> int_list_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi,
                                            size_t max_count) {
  const std::string list = string_param(r, name);
  std::vector<int64_t> out;
  size_t start = 0;
  while (start < list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    IRENE_ASSIGN_OR_RETURN(int64_t v, parse_int(name, list.substr(start, comma - start), lo, hi));
    out.push_back(v);
    if (out.size() > max_count)
      return Status::invalid_argument("parameter '" + name + "' takes at most " + std::to_string(max_count) +
                                      " values");
    start = comma + 1;
  }
  if (out.empty())
    return Status::invalid_argument("parameter '" + name + "': give a comma-separated list of integers from " +
                                    std::to_string(lo) + " to " + std::to_string(hi));
  return out;
}

std::string string_param(const ApiRequest& r, const std::string& name) {
  auto it = r.query.find(name);
  return it == r.query.end() ? std::string() : it->second;
}

Status format_params(const ApiRequest& r, tree::FormatOptions& format, std::string& key) {
  if (!string_param(r, "max_depth").empty()) {
    IRENE_ASSIGN_OR_RETURN(int64_t d, int_param(r, "max_depth", 0, 64));
    format.max_depth = static_cast<int>(d);
  }
  const std::string kinds = string_param(r, "kinds");
  if (!kinds.empty()) {
    size_t start = 0;
    while (start <= kinds.size()) {
      const size_t comma = std::min(kinds.find(',', start), kinds.size());
      auto k = tree::kind_from_name(kinds.substr(start, comma - start));
      if (!k.is_ok()) return Status::invalid_argument("parameter 'kinds': " + k.status().message());
      format.kinds.push_back(*k);
      start = comma + 1;
    }
  }
  if (!string_param(r, "root").empty()) {
    IRENE_ASSIGN_OR_RETURN(int64_t root, int_param(r, "root", 0, std::numeric_limits<int32_t>::max()));
    format.root = static_cast<int>(root);
  }
  if (!string_param(r, "max_nodes").empty()) {
    IRENE_ASSIGN_OR_RETURN(int64_t n, int_param(r, "max_nodes", 1, 10'000'000));
    format.max_nodes = static_cast<size_t>(n);
  }
  key = std::to_string(format.max_depth) + "|" + kinds + "|" + std::to_string(format.root) + "|" +
        std::to_string(format.max_nodes);
  return Status::ok();
}

Status check_root(const tree::FormatOptions& format, const tree::Tree& t) {
  if (format.root >= 0 && format.root < static_cast<int>(t.nodes.size())) return Status::ok();
  return Status::invalid_argument("parameter 'root' must be a node index below " + std::to_string(t.nodes.size()) +
                                  " (this tree's node_count), got " + std::to_string(format.root));
}

Result<models::ModelConfig> model_param(const ApiRequest& r, const nlohmann::json* posted) {
  if (posted) {
    auto parsed = models::parse_config(*posted, "config-" + config_hash(*posted));
    if (!parsed.is_ok()) return Status(parsed.status().code(), "field 'config': " + parsed.status().message());
    return parsed;
  }
  const std::string name = string_param(r, "model");
  if (name.empty()) return Status::invalid_argument("missing parameter 'model': give a name from /api/models");
  auto c = models::bundled_config(name);
  if (!c.is_ok()) return Status::not_found("parameter 'model': " + c.status().message());
  return c;
}

std::string config_hash(const nlohmann::json& config) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : config.dump()) h = (h ^ ch) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

Result<std::pair<ApiRequest, nlohmann::json>> body_request(const ApiRequest& r, const std::vector<std::string>& fields,
                                                           const std::string& usage) {
  if (r.body.size() > kMaxBodyBytes)
    return Status::invalid_argument("request too large: the body is over " + std::to_string(kMaxBodyBytes) + " bytes");
  // Configs are written by Python's json module, which spells infinity Infinity.
  nlohmann::json body = parse_python_json(r.body);
  if (body.is_discarded() || !body.is_object()) return Status::invalid_argument("the body must be a JSON object: " + usage);
  ApiRequest q;
  for (const std::string& k : fields) {
    if (!body.contains(k) || body[k].is_null()) continue;
    const nlohmann::json& v = body[k];
    if (v.is_string()) {
      q.query[k] = v.get<std::string>();
    } else if (v.is_array()) {
      std::string list;
      for (const auto& item : v) list += (list.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : item.dump());
      q.query[k] = list;
    } else {
      q.query[k] = v.dump();
    }
  }
  nlohmann::json config;
  if (body.contains("config")) {
    if (!body["config"].is_object()) return Status::invalid_argument("field 'config' must be a config.json object");
    if (body.contains("model")) return Status::invalid_argument("give either 'config' or 'model', not both");
    config = std::move(body["config"]);
  } else if (!body.contains("model")) {
    return Status::invalid_argument("give 'config' (a config.json object) or 'model' (a name from /api/models)");
  }
  return std::make_pair(std::move(q), std::move(config));
}

ApiResponse refusal(const Status& s) {
  if (s.message().rfind("request too large", 0) == 0) return ApiResponse::error(413, "too_large", s.message());
  return ApiResponse::from_status(s);
}

// Adds share_of_parent and share_of_model to every node that has an energy.
void add_shares(nlohmann::json& node, double parent_energy, double model_energy) {
  if (node.contains("energy_j")) {
    const double e = node["energy_j"].get<double>();
    node["share_of_parent"] = parent_energy > 0 ? e / parent_energy : 0.0;
    node["share_of_model"] = model_energy > 0 ? e / model_energy : 0.0;
    parent_energy = e;
  }
  if (auto it = node.find("children"); it != node.end())
    for (auto& c : *it) add_shares(c, parent_energy, model_energy);
}

}  // namespace irene::server
