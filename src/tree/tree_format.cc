#include "tree/tree_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace irene::tree {

const char* const kCsvHeader = "path,class,kind,depth,num_parameters,flops,mem_bytes,latency_s";
const char* const kCsvEnergyColumns = "energy_j,energy_remainder_j,measured_energy_j,extrapolated";
const char* const kCsvPhaseColumn = "phase";

namespace {

bool visible(const Node& n, const FormatOptions& o) {
  if (o.max_depth >= 0 && n.depth > o.max_depth) return false;
  return o.kinds.empty() || std::find(o.kinds.begin(), o.kinds.end(), n.kind) != o.kinds.end();
}

// Per node: shown by the options, and so is every ancestor (the flat formats drop a
// left-out node's subtree as the nested JSON does).
std::vector<char> shown_nodes(const Tree& tree, const FormatOptions& o) {
  std::vector<char> shown(tree.nodes.size(), 0);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const Node& n = tree.nodes[i];
    shown[i] = visible(n, o) && (n.parent < 0 || shown[n.parent]);
  }
  return shown;
}

// 1234567 -> "1.23M"; keeps text output readable across twelve orders of magnitude.
std::string human(double v, const char* unit) {
  static constexpr const char* kPrefixes[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (std::fabs(v) >= 1000.0 && i < 5) {
    v /= 1000.0;
    ++i;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s%s" : "%.2f %s%s", v, kPrefixes[i], unit);
  return buf;
}

std::string human_bytes(double v) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024.0 && i < 4) {
    v /= 1024.0;
    ++i;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.2f %s", v, kUnits[i]);
  return buf;
}

// CSV fields are quoted only when they must be (paths and classes never hold commas,
// but shapes and user-supplied names might).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::optional<double> optional_from_json(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<double>();
}

nlohmann::json measurement_json(const Measurement& m) {
  nlohmann::json j = {{"times_mean_s", m.times_mean_s},
                      {"times_std_s", m.times_std_s},
                      {"cpu_pct", optional_json(m.cpu_pct)},
                      {"mem_pct", optional_json(m.mem_pct)},
                      {"cpu_mhz", optional_json(m.cpu_mhz)},
                      {"gpu_pct", optional_json(m.gpu_pct)},
                      {"gpu_mem_pct", optional_json(m.gpu_mem_pct)},
                      {"gpu_clk_mhz", optional_json(m.gpu_clk_mhz)},
                      {"gpu_mem_clk_mhz", optional_json(m.gpu_mem_clk_mhz)},
                      {"gpu_energy_j", optional_json(m.gpu_energy_j)},
                      {"energy_j", optional_json(m.energy_j)}};
  if (m.times_min_s) j["times_min_s"] = *m.times_min_s;
  if (!m.energy_note.empty()) j["energy_note"] = m.energy_note;
  if (!m.energy_by_meter_j.empty()) j["energy_by_meter_j"] = m.energy_by_meter_j;
  return j;
}

Measurement measurement_from_json(const nlohmann::json& j) {
  Measurement m;
  m.times_mean_s = j.at("times_mean_s").get<double>();
  m.times_std_s = j.value("times_std_s", 0.0);
  m.times_min_s = optional_from_json(j, "times_min_s");
  m.cpu_pct = optional_from_json(j, "cpu_pct");
  m.mem_pct = optional_from_json(j, "mem_pct");
  m.cpu_mhz = optional_from_json(j, "cpu_mhz");
  m.gpu_pct = optional_from_json(j, "gpu_pct");
  m.gpu_mem_pct = optional_from_json(j, "gpu_mem_pct");
  m.gpu_clk_mhz = optional_from_json(j, "gpu_clk_mhz");
  m.gpu_mem_clk_mhz = optional_from_json(j, "gpu_mem_clk_mhz");
  m.gpu_energy_j = optional_from_json(j, "gpu_energy_j");
  m.energy_j = optional_from_json(j, "energy_j");
  m.energy_note = j.value("energy_note", "");
  if (j.contains("energy_by_meter_j")) m.energy_by_meter_j = j["energy_by_meter_j"].get<std::map<std::string, double>>();
  return m;
}

nlohmann::json node_json(const Tree& tree, int index, const FormatOptions& o) {
  const Node& n = tree.nodes[index];
  nlohmann::json j = {
      {"path", n.path},
      {"class", n.cls},
      {"kind", kind_name(n.kind)},
      {"depth", n.depth},
      {"num_parameters", n.num_parameters},
      {"flops", n.untraced ? nlohmann::json(nullptr) : nlohmann::json(n.flops)},
      {"mem_bytes", n.untraced ? nlohmann::json(nullptr) : nlohmann::json(n.mem_bytes)},
      {"latency_s", n.latency_s ? nlohmann::json(*n.latency_s) : nlohmann::json(nullptr)},
  };
  if (n.kind == NodeKind::kMath) {
    j["shapes"] = n.shapes;
    j["dtype"] = n.dtype;
  }
  if (!n.weight_dtype.empty()) j["weight_dtype"] = n.weight_dtype;
  if (index == 0 && tree.generation) {
    const Generation& g = *tree.generation;
    j["prompt_tokens"] = g.prompt_tokens;
    j["new_tokens"] = g.new_tokens;
    j["kv_cache_bytes"] = g.kv_cache_bytes;
    if (g.state_bytes > 0) j["state_bytes"] = g.state_bytes;
    if (g.decode_step) j["decode_step"] = *g.decode_step;
  }
  if (index == 0 && tree.active_parameters > 0) j["active_parameters"] = tree.active_parameters;
  if (n.energy_j) j["energy_j"] = *n.energy_j;
  if (n.energy_remainder_j) j["energy_remainder_j"] = *n.energy_remainder_j;
  if (n.predicted_latency_s) j["predicted_latency_s"] = *n.predicted_latency_s;
  if (n.extrapolated) j["extrapolated"] = true;
  if (n.measured) j["measured"] = measurement_json(*n.measured);
  nlohmann::json children = nlohmann::json::array();
  int cut = 0;
  for (int c : n.children) {
    if (visible(tree.nodes[c], o)) {
      children.push_back(node_json(tree, c, o));
    } else if (o.max_depth >= 0 && tree.nodes[c].depth > o.max_depth) {
      FormatOptions kinds_only = o;  // would the kinds filter have shown it?
      kinds_only.max_depth = -1;
      cut += visible(tree.nodes[c], kinds_only);
    }
  }
  j["children"] = std::move(children);
  j["index"] = index;
  if (cut > 0) j["children_omitted"] = cut;
  return j;
}

// The options for a JSON answer rooted at o.root: max_depth made absolute, and lowered
// until the answer holds at most o.max_nodes nodes.
FormatOptions json_options(const Tree& tree, const FormatOptions& o) {
  FormatOptions out = o;
  const int base = tree.nodes[o.root].depth;
  if (o.max_depth >= 0) out.max_depth = base + o.max_depth;
  if (o.max_nodes == 0) return out;
  // Visible nodes of the subtree per level below its root (pre-order: the subtree is
  // the root and the deeper nodes that follow it).
  std::vector<size_t> per_level;
  std::vector<char> shown(tree.nodes.size(), 0);
  shown[o.root] = 1;
  for (size_t i = o.root + 1; i < tree.nodes.size() && tree.nodes[i].depth > base; ++i) {
    const Node& n = tree.nodes[i];
    shown[i] = shown[n.parent] && visible(n, out);
    if (!shown[i]) continue;
    const size_t level = static_cast<size_t>(n.depth - base);
    if (per_level.size() < level) per_level.resize(level, 0);
    ++per_level[level - 1];
  }
  size_t total = 1;
  int depth = 0;
  for (size_t level = 0; level < per_level.size(); ++level) {
    total += per_level[level];
    if (total > o.max_nodes && level > 0) break;
    depth = static_cast<int>(level) + 1;
  }
  if (depth < static_cast<int>(per_level.size())) out.max_depth = base + depth;
  return out;
}

Status node_from_json(const nlohmann::json& j, int parent, Tree& tree) {
  if (!j.is_object()) return Status::corrupt("tree node is not a JSON object");
  Node n;
  try {
    n.path = j.at("path").get<std::string>();
    n.cls = j.at("class").get<std::string>();
    IRENE_ASSIGN_OR_RETURN(n.kind, kind_from_name(j.at("kind").get<std::string>()));
    n.depth = j.at("depth").get<int>();
    n.num_parameters = j.at("num_parameters").get<int64_t>();
    n.untraced = j.at("flops").is_null();
    if (!n.untraced) {
      n.flops = j.at("flops").get<int64_t>();
      n.mem_bytes = j.at("mem_bytes").get<int64_t>();
    }
    if (j.contains("latency_s") && !j["latency_s"].is_null()) n.latency_s = j["latency_s"].get<double>();
    n.shapes = j.value("shapes", "");
    n.dtype = j.value("dtype", "");
    n.weight_dtype = j.value("weight_dtype", "");
    if (j.contains("energy_j")) n.energy_j = j["energy_j"].get<double>();
    if (j.contains("energy_remainder_j")) n.energy_remainder_j = j["energy_remainder_j"].get<double>();
    if (j.contains("predicted_latency_s")) n.predicted_latency_s = j["predicted_latency_s"].get<double>();
    n.extrapolated = j.value("extrapolated", false);
    if (parent < 0) tree.active_parameters = j.value("active_parameters", int64_t{0});
    if (parent < 0 && j.contains("new_tokens")) {
      Generation g;
      g.prompt_tokens = j.at("prompt_tokens").get<int64_t>();
      g.new_tokens = j.at("new_tokens").get<int64_t>();
      g.kv_cache_bytes = j.at("kv_cache_bytes").get<int64_t>();
      g.state_bytes = j.value("state_bytes", int64_t{0});
      if (j.contains("decode_step")) g.decode_step = j["decode_step"].get<int64_t>();
      tree.generation = g;
    }
    if (j.contains("measured") && !j["measured"].is_null()) n.measured = measurement_from_json(j["measured"]);
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(std::string("tree node: ") + e.what());
  }
  n.parent = parent;
  const int index = static_cast<int>(tree.nodes.size());
  if (parent >= 0) tree.nodes[parent].children.push_back(index);
  tree.nodes.push_back(std::move(n));
  if (j.contains("children"))
    for (const auto& c : j["children"]) IRENE_RETURN_IF_ERROR(node_from_json(c, index, tree));
  return Status::ok();
}

}  // namespace

std::string to_text(const Tree& tree, const FormatOptions& o) {
  std::string out;
  out += tree.model + "  batch_size=" + std::to_string(tree.batch_size) + " seq_len=" + std::to_string(tree.seq_len);
  if (!tree.dtype.empty()) out += " dtype=" + tree.dtype;
  if (!tree.attention.empty()) out += " attention=" + tree.attention;
  if (const auto& g = tree.generation) {
    out += " new_tokens=" + std::to_string(g->new_tokens) + " kv_cache=" + human_bytes(static_cast<double>(g->kv_cache_bytes));
    if (g->decode_step) out += " decode_step=" + std::to_string(*g->decode_step);
  }
  out += std::string(tree.shapes_only ? "  (shapes only)" : "") + "\n";
  for (const std::string& note : tree.notes) out += "note: " + note + "\n";
  const std::vector<char> shown = shown_nodes(tree, o);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const Node& n = tree.nodes[i];
    if (!shown[i]) continue;
    std::string line(2 * n.depth, ' ');
    line += n.path.empty() ? n.cls : n.path + " : " + n.cls;
    line += "  [" + std::string(kind_name(n.kind)) + "]";
    if (!n.shapes.empty()) line += "  " + n.shapes;
    if (n.untraced)
      line += "  (work not traced)";
    else
      line += "  flops=" + human(static_cast<double>(n.flops), "") + " mem=" + human_bytes(static_cast<double>(n.mem_bytes));
    if (n.num_parameters) line += " params=" + human(static_cast<double>(n.num_parameters), "");
    if (n.energy_j) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " energy=%.4g J", *n.energy_j);
      line += buf;
      if (n.extrapolated) line += " (extrapolated)";
    }
    if (n.measured && n.measured->energy_j) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " measured=%.4g J", *n.measured->energy_j);
      line += buf;
    }
    if (n.latency_s) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " latency=%.3f ms", *n.latency_s * 1e3);
      line += buf;
    }
    if (n.predicted_latency_s) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " predicted latency=%.4g ms", *n.predicted_latency_s * 1e3);
      line += buf;
    }
    out += line + "\n";
  }
  return out;
}

std::string csv_row(const Node& n) {
  char num[160];
  std::string out = csv_field(n.path) + "," + csv_field(n.cls) + "," + kind_name(n.kind) + ",";
  std::snprintf(num, sizeof num, "%d,%lld,", n.depth, static_cast<long long>(n.num_parameters));
  out += num;
  out += n.untraced ? "," : std::to_string(n.flops) + "," + std::to_string(n.mem_bytes);  // untraced: empty cells
  out += ",";
  if (n.latency_s) {
    std::snprintf(num, sizeof num, "%.9g", *n.latency_s);
    out += num;
  }
  return out;
}

std::string to_csv(const Tree& tree, const FormatOptions& o) {
  const bool energies = std::any_of(tree.nodes.begin(), tree.nodes.end(),
                                    [](const Node& n) { return n.energy_j || n.measured; });
  // Generation trees say which phase each row belongs to (the paths repeat per phase).
  const bool phased = tree.generation.has_value() && !tree.generation->decode_step;
  const std::vector<std::string> phases = phased ? tree.phases() : std::vector<std::string>{};
  const bool predicted = std::any_of(tree.nodes.begin(), tree.nodes.end(),
                                     [](const Node& n) { return n.predicted_latency_s.has_value(); });
  std::string out = std::string(kCsvHeader) + (energies ? std::string(",") + kCsvEnergyColumns : "") +
                    (predicted ? ",predicted_latency_s" : "") + (phased ? std::string(",") + kCsvPhaseColumn : "") +
                    "\n";
  out.reserve(tree.nodes.size() * 96);
  char num[160];
  const std::vector<char> shown = shown_nodes(tree, o);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const Node& n = tree.nodes[i];
    if (!shown[i]) continue;
    out += csv_row(n);
    if (energies) {
      auto opt = [&](std::optional<double> v) {
        out += ",";
        if (v) {
          std::snprintf(num, sizeof num, "%.9g", *v);
          out += num;
        }
      };
      opt(n.energy_j);
      opt(n.energy_remainder_j);
      opt(n.measured ? n.measured->energy_j : std::nullopt);
      out += n.extrapolated ? ",true" : ",false";
    }
    if (predicted) {
      out += ",";
      if (n.predicted_latency_s) {
        std::snprintf(num, sizeof num, "%.9g", *n.predicted_latency_s);
        out += num;
      }
    }
    if (phased) out += "," + phases[i];
    out += "\n";
  }
  return out;
}

nlohmann::json to_json(const Tree& tree, const FormatOptions& o) {
  return {
      {"schema", "irene.tree/1"},
      {"model", tree.model},
      {"batch_size", tree.batch_size},
      {"seq_len", tree.seq_len},
      {"shapes_only", tree.shapes_only},
      {"dtype", tree.dtype},
      {"attention", tree.attention},
      {"notes", tree.notes},
      {"node_count", tree.nodes.size()},
      {"root", tree.empty() || o.root < 0 || o.root >= static_cast<int>(tree.nodes.size())
                   ? nlohmann::json(nullptr)
                   : node_json(tree, o.root, json_options(tree, o))},
  };
}

Result<Tree> from_json(const nlohmann::json& doc) {
  Tree tree;
  try {
    if (doc.value("schema", "") != "irene.tree/1")
      return Status::corrupt("not an irene tree document (expected schema \"irene.tree/1\")");
    tree.model = doc.at("model").get<std::string>();
    tree.batch_size = doc.at("batch_size").get<int64_t>();
    tree.seq_len = doc.at("seq_len").get<int64_t>();
    tree.shapes_only = doc.value("shapes_only", false);
    tree.dtype = doc.value("dtype", "");
    tree.attention = doc.value("attention", "");
    if (doc.contains("notes")) tree.notes = doc["notes"].get<std::vector<std::string>>();
    IRENE_RETURN_IF_ERROR(node_from_json(doc.at("root"), -1, tree));
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(std::string("tree document: ") + e.what());
  }
  return tree;
}

}  // namespace irene::tree
