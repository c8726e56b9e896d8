#include "predict/dataset.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "models/zoo.h"

namespace irene::predict {

const char* const kDatasetFiles[4] = {"model_level_features.csv", "module_level_features.csv",
                                      "ml1_level_features.csv", "ml2_level_features.csv"};

namespace {

constexpr const char* kColumns[] = {"batch_size", "seq_len",   "flops",       "mem_bytes",       "cpu",
                                    "mem",        "gpu",       "gpu_mem",     "gpu_clk",         "gpu_mem_clk",
                                    "times_mean", "gpu_energy_mean", "energy_mean", "level_name", "model_name"};
constexpr int kNumeric = 13;  // the first 13 columns are numbers

struct Row {
  std::string file;
  int line = 0;
  double v[kNumeric] = {};
  std::string level_name, model_name;
  int64_t batch_size() const { return static_cast<int64_t>(v[0]); }
  int64_t seq_len() const { return static_cast<int64_t>(v[1]); }
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

Status read_file(const std::string& path, const std::string& name, std::vector<Row>& rows, uint64_t& hash) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read dataset file '" + path + "'");
  std::string line;
  if (!std::getline(in, line)) return Status::corrupt(path + ": empty file, expected a header row");
  auto fnv = [&hash](const std::string& s) {
    for (unsigned char c : s) hash = (hash ^ c) * 1099511628211ULL;
    hash = (hash ^ '\n') * 1099511628211ULL;
  };
  fnv(line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string> header = split(line);
  std::vector<int> where(std::size(kColumns), -1);
  for (size_t c = 0; c < std::size(kColumns); ++c) {
    auto it = std::find(header.begin(), header.end(), kColumns[c]);
    if (it == header.end()) return Status::corrupt(path + ":1: missing column '" + kColumns[c] + "'");
    where[c] = static_cast<int>(it - header.begin());
  }
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    fnv(line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> cells = split(line);
    if (cells.size() != header.size())
      return Status::corrupt(path + ":" + std::to_string(line_no) + ": " + std::to_string(cells.size()) +
                             " fields, the header has " + std::to_string(header.size()));
    Row r;
    r.file = name;
    r.line = line_no;
    for (int c = 0; c < kNumeric; ++c) {
      const std::string& cell = cells[where[c]];
      char* end = nullptr;
      r.v[c] = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size())
        return Status::corrupt(path + ":" + std::to_string(line_no) + ": column '" + kColumns[c] +
                               "' is not a number: '" + cell + "'");
    }
    r.level_name = cells[where[13]];
    r.model_name = cells[where[14]];
    if (r.v[0] < 1 || r.v[1] < 1)
      return Status::corrupt(path + ":" + std::to_string(line_no) + ": batch_size and seq_len must be positive");
    rows.push_back(std::move(r));
  }
  return Status::ok();
}

tree::Measurement measurement_of(const Row& r) {
  tree::Measurement m;
  m.cpu_pct = r.v[4];
  m.mem_pct = r.v[5];
  m.gpu_pct = r.v[6];
  m.gpu_mem_pct = r.v[7];
  m.gpu_clk_mhz = r.v[8];
  m.gpu_mem_clk_mhz = r.v[9];
  m.times_mean_s = r.v[10];
  m.gpu_energy_j = r.v[11];
  m.energy_j = r.v[12];
  return m;
}

// Attaches the rows of one configuration to irene's tree of it. A row's level_name is
// "<path>:<class>"; MatMul and Softmax rows carry the calling module's path, and the
// k-th such row of a module goes to its k-th node of that class.
Status attach(tree::Tree& t, const std::vector<const Row*>& rows) {
  std::unordered_map<std::string, std::vector<int>> by_key;
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const tree::Node& n = t.nodes[i];
    if (n.kind == tree::NodeKind::kMath) continue;
    std::string key = n.kind == tree::NodeKind::kModel     ? t.model
                      : n.kind == tree::NodeKind::kMlNp ? t.nodes[n.parent].path + ":" + n.cls
                                                           : n.path + ":" + n.cls;
    by_key[key].push_back(static_cast<int>(i));
  }
  std::unordered_map<std::string, size_t> used;
  for (const Row* r : rows) {
    auto it = by_key.find(r->level_name);
    size_t& k = used[r->level_name];
    if (it == by_key.end() || k >= it->second.size())
      return Status::corrupt(r->file + ":" + std::to_string(r->line) + ": " + r->model_name + " has no node '" +
                             r->level_name + "'" + (it == by_key.end() ? "" : " left for this row (too many rows)"));
    t.nodes[it->second[k++]].measured = measurement_of(*r);
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> Dataset::model_names() const {
  std::vector<std::string> names;
  for (const auto& t : trees)
    if (names.empty() || names.back() != t.model) names.push_back(t.model);
  return names;
}

Result<Dataset> load_dataset(const std::string& dir) {
  std::vector<Row> rows;
  uint64_t hash = 1469598103934665603ULL;
  for (const char* f : kDatasetFiles) IRENE_RETURN_IF_ERROR(read_file(dir + "/" + f, f, rows, hash));

  Dataset ds;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  ds.fingerprint = hex;

  std::map<std::tuple<std::string, int64_t, int64_t>, std::vector<const Row*>> by_config;
  for (const Row& r : rows) {
    if (!models::bundled_config(r.model_name).is_ok()) {
      ++ds.skipped_rows;
      ds.skipped_models.insert(r.model_name);
      continue;
    }
    by_config[{r.model_name, r.batch_size(), r.seq_len()}].push_back(&r);
  }
  for (const auto& [key, config_rows] : by_config) {
    const auto& [model, b, s] = key;
    auto config = models::bundled_config(model).value();
    auto t = models::trace_model(config, {b, s, /*shapes_only=*/true});
    if (!t.is_ok())
      return Status(t.status().code(), config_rows.front()->file + ":" + std::to_string(config_rows.front()->line) +
                                           ": " + t.status().message());
    IRENE_RETURN_IF_ERROR(attach(*t, config_rows));
    if (!t->root().measured) {
      // The README's trees are rooted at the model row; without one there is no tree.
      ds.skipped_rows += static_cast<int>(config_rows.size());
      ds.incomplete_configs.push_back(model + " b=" + std::to_string(b) + " s=" + std::to_string(s));
      continue;
    }
    ds.rows += static_cast<int>(config_rows.size());
    ds.trees.push_back(std::move(*t));
  }
  if (ds.skipped_rows > 0) {
    std::string names;
    for (const auto& m : ds.skipped_models) names += (names.empty() ? "" : ", ") + m;
    spdlog::info("dataset {}: skipped {} rows of models outside the zoo ({})", dir, ds.skipped_rows, names);
  }
  for (const auto& c : ds.incomplete_configs)
    spdlog::info("dataset {}: {} has no model-level row; its rows are skipped", dir, c);
  if (ds.trees.empty()) return Status::invalid_argument("dataset " + dir + " has no rows of models irene can build");
  return ds;
}

}  // namespace irene::predict
