// What the API's handlers share: request parameters checked and typed at the edge (query
// parameters of the GET forms, the JSON bodies of the POST forms), the refusal of
// requests too large, and the shares added to answered trees.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/config.h"
#include "server/api.h"
#include "tree/tree_format.h"

namespace irene::server {

// A required integer query parameter within [lo, hi].
Result<int64_t> int_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi);
// The same, or `fallback` when the request does not give it.
Result<int64_t> optional_int_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi,
                                   int64_t fallback);
// A comma-separated list of integers within [lo, hi], at most `max_count` of them.
Result<std::vector<int64_t>> int_list_param(const ApiRequest& r, const std::string& name, int64_t lo, int64_t hi,
                                            size_t max_count);
// "" when absent.
std::string string_param(const ApiRequest& r, const std::string& name);
// An optional number within (lo, hi]; empty when absent.
Result<std::optional<double>> optional_number_param(const ApiRequest& r, const std::string& name, double lo, double hi);
// A share from 0 to below 1 (`prompt_cached_share`); empty when absent.
Result<std::optional<double>> optional_share_param(const ApiRequest& r, const std::string& name);
// A comma-separated list of words, each one of `allowed` (any word when `allowed` is
// empty), at most `max_count`; empty when absent.
Result<std::vector<std::string>> word_list_param(const ApiRequest& r, const std::string& name,
                                                 const std::vector<std::string>& allowed, size_t max_count);

// max_depth (0 to 64), kinds (comma-separated node kinds), root (a node index: its
// subtree alone) and max_nodes (cut at the deepest level that fits) of an answer; `key`
// tells two formats apart in cache keys.
Status format_params(const ApiRequest& r, tree::FormatOptions& format, std::string& key);
// The format's root is a node of `t`.
Status check_root(const tree::FormatOptions& format, const tree::Tree& t);

// The request's model: a bundled name (`model`), or `posted` (a config.json from a body).
Result<models::ModelConfig> model_param(const ApiRequest& r, const nlohmann::json* posted = nullptr);

// FNV-1a of a posted config, so that equal configs share cached answers.
std::string config_hash(const nlohmann::json& config);

// A POST body {"config": {...} or "model": NAME, and `fields`} as the query parameters
// of the GET form (arrays of numbers become comma-separated lists), plus the config
// (null when the body names a model). `usage` describes the body in errors.
Result<std::pair<ApiRequest, nlohmann::json>> body_request(const ApiRequest& r, const std::vector<std::string>& fields,
                                                           const std::string& usage);

// A request too large to build is refused with 413 before any work; other bad
// parameters with 400/404.
ApiResponse refusal(const Status& s);

// Adds share_of_parent and share_of_model to every node of a tree answer that has an energy.
void add_shares(nlohmann::json& node, double parent_energy, double model_energy);

}  // namespace irene::server
