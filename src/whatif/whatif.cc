#include "whatif/whatif.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace irene::whatif {

namespace {


nlohmann::json value_of(const std::string& text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  return v.is_discarded() ? nlohmann::json(text) : v;
}

bool as_bool(const nlohmann::json& v, bool& out) {
  if (v.is_boolean()) out = v.get<bool>();
  else if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) out = v.get<int64_t>() == 1;
  else return false;
  return true;
}

Result<int64_t> as_int(const std::string& field, const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return Status::invalid_argument("change '" + field + "' must be an integer from " + std::to_string(lo) + " to " +
                                    std::to_string(hi) + ", got " + v.dump());
  return v.get<int64_t>();
}

// Each tree's energy per output token, by (path, class).
struct Indexed {
  const tree::Tree* tree;
  double per_token;  // 1 / the step's output tokens
};

double energy_of(const Indexed& t, int i) {
  return t.tree->nodes[static_cast<size_t>(i)].energy_j.value_or(0) * t.per_token;
}

// The union of both trees under one node: A's children in A's order, then B's own.
NodeDiff merge(const Indexed& a, int ia, const Indexed& b, int ib) {
  NodeDiff d;
  const tree::Node* na = ia >= 0 ? &a.tree->nodes[static_cast<size_t>(ia)] : nullptr;
  const tree::Node* nb = ib >= 0 ? &b.tree->nodes[static_cast<size_t>(ib)] : nullptr;
  d.path = na ? na->path : nb->path;
  d.cls = na ? na->cls : nb->cls;
  d.in_a = na != nullptr;
  d.in_b = nb != nullptr;
  if (na) d.a_j = energy_of(a, ia);
  if (nb) d.b_j = energy_of(b, ib);
  std::map<std::pair<std::string, std::string>, int> b_children;
  if (nb)
    for (int c : nb->children) {
      const tree::Node& n = b.tree->nodes[static_cast<size_t>(c)];
      if (n.kind != tree::NodeKind::kMath) b_children.emplace(std::make_pair(n.path, n.cls), c);
    }
  if (na)
    for (int c : na->children) {
      const tree::Node& n = a.tree->nodes[static_cast<size_t>(c)];
      if (n.kind == tree::NodeKind::kMath) continue;  // down to the ML ops: math ops differ between engines' kernels
      auto it = b_children.find({n.path, n.cls});
      const int other = it == b_children.end() ? -1 : it->second;
      if (it != b_children.end()) b_children.erase(it);
      d.children.push_back(merge(a, c, b, other));
    }
  for (const auto& [key, c] : b_children) d.children.push_back(merge(a, -1, b, c));
  std::stable_sort(d.children.begin(), d.children.end(), [](const NodeDiff& x, const NodeDiff& y) {
    return std::abs(x.delta()) > std::abs(y.delta());
  });
  return d;
}

void sum_kinds(const NodeDiff& d, std::map<std::pair<std::string, std::string>, KindDiff>& out, bool is_root) {
  if (d.children.empty() && !is_root) {  // the ML ops the step's energy lies on
    KindDiff& k = out[{tree::repeated_path(d.path), d.cls}];
    k.path = tree::repeated_path(d.path);
    k.cls = d.cls;
    k.a_j += d.a_j;
    k.b_j += d.b_j;
    return;
  }
  for (const NodeDiff& c : d.children) sum_kinds(c, out, false);
}

nlohmann::json node_json(const NodeDiff& d, int depth_left) {
  nlohmann::json j{{"path", d.path}, {"class", d.cls}, {"a_j", d.in_a ? nlohmann::json(d.a_j) : nlohmann::json()},
                   {"b_j", d.in_b ? nlohmann::json(d.b_j) : nlohmann::json()}, {"delta_j", d.delta()}};
  if (depth_left != 0 && !d.children.empty()) {
    nlohmann::json children = nlohmann::json::array();
    for (const NodeDiff& c : d.children) children.push_back(node_json(c, depth_left - 1));
    j["children"] = std::move(children);
  } else if (!d.children.empty()) {
    j["children_omitted"] = d.children.size();
  }
  return j;
}

}  // namespace

const std::vector<std::string>& changeable_fields() {
  static const std::vector<std::string> fields{"machine",        "num_gpus",     "data_parallel", "expert_parallel",
                                               "pipeline_parallel", "batch_size", "prompt_len",   "output_len",
                                               "engine",         "quantization", "kv_cache_dtype", "dtype",
                                               "attention",      "prompt_cached_share", "config.KEY"};
  return fields;
}

Result<std::pair<std::string, std::string>> parse_change(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return Status::invalid_argument("a change is KEY=VALUE (e.g. quantization=fp8, config.num_key_value_heads=4), got '" +
                                    text + "'");
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<Side> changed(const Side& a, const std::vector<std::pair<std::string, std::string>>& changes,
                     std::vector<std::string>* notes) {
  Side b = a;
  nlohmann::json raw = a.config.raw;
  bool edited = false;
  for (const auto& [field, text] : changes) {
    const nlohmann::json v = value_of(text);
    serving::ServingConfig& s = b.serving;
    if (field.rfind("config.", 0) == 0) {
      // A key of config.json, "text_config.KEY" for a nested one.
      const std::string key = field.substr(7);
      if (key.empty()) return Status::invalid_argument("change 'config.' names no key");
      std::vector<std::string> parts;
      for (size_t start = 0;;) {
        const size_t dot = key.find('.', start);
        parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      nlohmann::json* at = &raw;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        if (!at->contains(parts[i]) || !(*at)[parts[i]].is_object())
          return Status::invalid_argument("change '" + field + "': the config has no object '" + parts[i] + "'");
        at = &(*at)[parts[i]];
      }
      if (parts.back().empty()) return Status::invalid_argument("change '" + field + "' names no key");
      if (notes && !at->contains(parts.back()))
        notes->push_back("'" + key + "' was not in the config: set, but the family may not read it (a key it does "
                         "not read changes nothing)");
      (*at)[parts.back()] = v;
      edited = true;
    } else if (field == "machine") {
      IRENE_ASSIGN_OR_RETURN(b.machine, machines::find_machine(v.is_string() ? v.get<std::string>() : text));
    } else if (field == "num_gpus") {
      IRENE_ASSIGN_OR_RETURN(int64_t g, as_int(field, v, 1, 64));
      s.num_gpus = static_cast<int>(g);
    } else if (field == "data_parallel") {
      IRENE_ASSIGN_OR_RETURN(int64_t d, as_int(field, v, 1, 64));
      s.data_parallel = static_cast<int>(d);
    } else if (field == "pipeline_parallel") {
      IRENE_ASSIGN_OR_RETURN(int64_t p, as_int(field, v, 1, 64));
      s.pipeline_parallel = static_cast<int>(p);
    } else if (field == "expert_parallel") {
      if (!as_bool(v, s.expert_parallel))
        return Status::invalid_argument("change 'expert_parallel' must be true or false, got '" + text + "'");
    } else if (field == "batch_size") {
      IRENE_ASSIGN_OR_RETURN(s.batch_size, as_int(field, v, 1, 4096));
    } else if (field == "prompt_len") {
      IRENE_ASSIGN_OR_RETURN(s.prompt_len, as_int(field, v, 1, 1'000'000));
    } else if (field == "prompt_cached_share") {
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() < 1))
        return Status::invalid_argument("change 'prompt_cached_share' must be a share from 0 to below 1, got '" + text + "'");
      s.prompt_cached_share = v.get<double>();
    } else if (field == "output_len") {
      IRENE_ASSIGN_OR_RETURN(s.output_len, as_int(field, v, 1, 1'000'000));
    } else if (field == "engine" || field == "quantization" || field == "kv_cache_dtype" || field == "dtype" ||
               field == "attention") {
      const std::string word = v.is_string() ? v.get<std::string>() : text;
      if (field == "engine") s.engine = word;
      if (field == "quantization") s.quantization = word == "as-stored" ? "" : word;
      if (field == "kv_cache_dtype") s.kv_cache_dtype = word == "auto" ? "" : word;
      if (field == "dtype") s.dtype = word;
      if (field == "attention") s.attention = word;
    } else {
      std::string known;
      for (const std::string& f : changeable_fields()) known += (known.empty() ? "" : ", ") + f;
      return Status::invalid_argument("unknown change '" + field + "' (allowed: " + known + ")");
    }
  }
  if (edited) {
    IRENE_ASSIGN_OR_RETURN(b.config, models::parse_config(raw, a.config.name + " (edited)"));
    if (b.config.decoder.quantization.method.empty() && !a.config.decoder.quantization.method.empty())
      b.config.decoder.quantization = a.config.decoder.quantization;  // stored apart (hf_quant_config.json)
  }
  return b;
}

Result<Comparison> compare(const Side& a, const std::vector<std::pair<std::string, std::string>>& changes,
                           const std::vector<serving::ServingPredictor>& available) {
  if (changes.empty()) return Status::invalid_argument("name at least one change for side B (e.g. quantization=fp8)");
  Comparison c;
  IRENE_ASSIGN_OR_RETURN(Side b, changed(a, changes, &c.notes));
  c.changes = changes;
  IRENE_ASSIGN_OR_RETURN(c.a, serving::answer(a.config, a.machine, a.serving, available));
  IRENE_ASSIGN_OR_RETURN(c.b, serving::answer(b.config, b.machine, b.serving, available));
  // A decode step makes one token per running request: a node's energy per output token
  // is its step energy over the batch the step ran.
  const Indexed ia{&*c.a.step, 1.0 / static_cast<double>(c.a.served.batch_size)};
  const Indexed ib{&*c.b.step, 1.0 / static_cast<double>(c.b.served.batch_size)};
  c.root = merge(ia, 0, ib, 0);
  std::map<std::pair<std::string, std::string>, KindDiff> kinds;
  sum_kinds(c.root, kinds, true);
  for (auto& [key, k] : kinds) c.by_kind.push_back(k);
  std::sort(c.by_kind.begin(), c.by_kind.end(), [](const KindDiff& x, const KindDiff& y) {
    return std::abs(x.b_j - x.a_j) > std::abs(y.b_j - y.a_j);
  });
  return c;
}

nlohmann::json to_json(const Comparison& c, int max_depth, size_t kinds) {
  nlohmann::json changes = nlohmann::json::object();
  for (const auto& [k, v] : c.changes) changes[k] = v;
  nlohmann::json by_kind = nlohmann::json::array();
  for (size_t i = 0; i < c.by_kind.size() && i < kinds; ++i)
    by_kind.push_back({{"path", c.by_kind[i].path},
                       {"class", c.by_kind[i].cls},
                       {"a_j", c.by_kind[i].a_j},
                       {"b_j", c.by_kind[i].b_j},
                       {"delta_j", c.by_kind[i].b_j - c.by_kind[i].a_j}});
  return {{"a", c.a.doc},
          {"b", c.b.doc},
          {"changes", std::move(changes)},
          {"notes", c.notes},
          {"units", "J per output token, the steady-state decode step's nodes (the engine's own time is on no node)"},
          {"tree", node_json(c.root, max_depth)},
          {"by_kind", std::move(by_kind)}};
}

}  // namespace irene::whatif
