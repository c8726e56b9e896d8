#include "predict/features.h"

#include <cmath>

namespace irene::predict {

const char* feature_set_name(FeatureSet set) { return set == FeatureSet::kFull ? "full" : "model"; }

Result<FeatureSet> feature_set_from_name(std::string_view name) {
  if (name == "full") return FeatureSet::kFull;
  if (name == "model") return FeatureSet::kModel;
  return Status::invalid_argument("unknown feature set '" + std::string(name) + "' (allowed: full, model)");
}

const std::vector<std::string>& feature_names(FeatureSet set) {
  static const std::vector<std::string> model = {"num_parameters", "input_size", "batch_size",
                                                 "seq_len",        "flops",      "mem_bytes"};
  static const std::vector<std::string> full = [] {
    std::vector<std::string> f = model;
    for (const char* r : {"cpu", "mem", "gpu", "gpu_mem", "gpu_clk", "gpu_mem_clk", "times_mean", "gpu_energy_mean"})
      f.emplace_back(r);
    return f;
  }();
  return set == FeatureSet::kFull ? full : model;
}

bool is_energy_node(const tree::Node& n) { return n.kind != tree::NodeKind::kMath; }

bool is_ml_leaf(const tree::Node& n) { return n.kind == tree::NodeKind::kMl || n.kind == tree::NodeKind::kMlNp; }

Result<std::vector<double>> node_features(const tree::Tree& t, int index, FeatureSet set) {
  const tree::Node& n = t.nodes[index];
  const double b = static_cast<double>(t.batch_size), s = static_cast<double>(t.seq_len);
  std::vector<double> f = {static_cast<double>(n.num_parameters), b * s, b, s, static_cast<double>(n.flops),
                           static_cast<double>(n.mem_bytes)};
  if (set == FeatureSet::kFull) {
    if (!n.measured)
      return Status::invalid_argument("the 'full' feature set needs measured resource features (cpu, gpu, "
                                      "times_mean, ...) and node '" + n.path + ":" + n.cls +
                                      "' has none; use a 'model' predictor, or measurements of this configuration");
    const tree::Measurement& m = *n.measured;
    if (!m.cpu_pct || !m.mem_pct)
      return Status::invalid_argument("the 'full' feature set needs the CPU and memory use of node '" + n.path +
                                      ":" + n.cls + "', and its measurement has none");
    // A machine without a GPU measures no GPU figures: its GPU does nothing, so 0.
    f.insert(f.end(), {*m.cpu_pct, *m.mem_pct, m.gpu_pct.value_or(0), m.gpu_mem_pct.value_or(0),
                       m.gpu_clk_mhz.value_or(0), m.gpu_mem_clk_mhz.value_or(0), m.times_mean_s,
                       gpu_energy_of(m)});
  }
  return f;
}

UncoveredOps uncovered_ops(const tree::Tree& t, int index) {
  UncoveredOps u;
  for (int c : t.nodes[index].children) {
    const tree::Node& n = t.nodes[c];
    if (n.kind != tree::NodeKind::kMath) continue;
    (n.flops > 0 || n.mem_bytes > 0 ? u.kernels : u.views) += 1;
    u.flops += static_cast<double>(n.flops);
    u.bytes += static_cast<double>(n.mem_bytes);
  }
  return u;
}

Standardizer Standardizer::fit(const std::vector<std::vector<double>>& rows) {
  Standardizer s;
  if (rows.empty()) return s;
  const size_t d = rows.front().size();
  s.mean.assign(d, 0.0);
  s.scale.assign(d, 0.0);
  for (const auto& r : rows)
    for (size_t j = 0; j < d; ++j) s.mean[j] += r[j];
  for (double& m : s.mean) m /= static_cast<double>(rows.size());
  for (const auto& r : rows)
    for (size_t j = 0; j < d; ++j) s.scale[j] += (r[j] - s.mean[j]) * (r[j] - s.mean[j]);
  for (double& v : s.scale) {
    v = std::sqrt(v / static_cast<double>(rows.size()));
    if (v < 1e-12) v = 1.0;
  }
  return s;
}

std::vector<double> Standardizer::apply(const std::vector<double>& row) const {
  std::vector<double> out(row.size());
  for (size_t j = 0; j < row.size(); ++j) out[j] = (row[j] - mean[j]) / scale[j];
  return out;
}

nlohmann::json Standardizer::to_json() const { return {{"mean", mean}, {"scale", scale}}; }

Result<Standardizer> Standardizer::from_json(const nlohmann::json& j) {
  try {
    Standardizer s{j.at("mean").get<std::vector<double>>(), j.at("scale").get<std::vector<double>>()};
    if (s.mean.size() != s.scale.size()) return Status::corrupt("standardizer: mean and scale differ in length");
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(std::string("standardizer: ") + e.what());
  }
}

std::vector<double> polynomial3(const std::vector<double>& x) {
  const size_t d = x.size();
  std::vector<double> out;
  out.reserve(1 + d + d * (d + 1) / 2 + d * (d + 1) * (d + 2) / 6);
  out.push_back(1.0);
  for (size_t i = 0; i < d; ++i) out.push_back(x[i]);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = i; j < d; ++j) out.push_back(x[i] * x[j]);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = i; j < d; ++j)
      for (size_t k = j; k < d; ++k) out.push_back(x[i] * x[j] * x[k]);
  return out;
}

}  // namespace irene::predict
