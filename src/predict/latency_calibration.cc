#include "predict/latency_calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "predict/nelder_mead.h"
#include "tree/tree_format.h"

namespace irene::predict {

namespace {

// Where a spec has no memory bandwidth, the spec-only prediction leaves memory time out.
constexpr double kNoBandwidth = std::numeric_limits<double>::infinity();
// The fit's starting bandwidth when the spec has none: a first guess for one CPU socket's
// DRAM (tens of GB/s), not a measured figure; the fit moves it.
constexpr double kFirstGuessCpuBandwidth = 20e9;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1 - p)); }

bool measured(const tree::Node& n) { return n.measured && n.measured->times_mean_s > 0; }
// Mean absolute log error of the measured nodes' latencies, each model weighing the same
// (the mean over its nodes, then over the models), as crossval averages them: absolute,
// as the error crossval reports, and so that a model whose kernels run unlike the
// others' (GPT-2's Conv1D products, half as fast as Linear layers of the same size here)
// does not pull the shared efficiencies off for the rest. (Absolute instead of squared,
// on seven sets of profiles of four models here: nodes 16.8 -> 15.4 %, model 14.4 ->
// 10.7 % on average. Each model weighing the same instead of each node, on eight sets:
// nodes 10.8 -> 10.3 %, model 9.4 -> 5.8 % (the worst set's model 11.9 -> 7.8 %); with
// every node weighing the same, the largest tree, SmolLM2's, had taken most of the
// weight.)
double objective(const std::vector<const ProfiledModel*>& models, const machines::MachineSpec& m,
                 const LatencyModel& lm) {
  double sum = 0;
  size_t fitted = 0;
  for (const ProfiledModel* p : models) {
    auto latency = node_latencies(p->tree, machine_at_speed(m, lm, p->speed_flop_per_s), lm.params, lm.memory,
                                  lm.untransposed_weight);
    if (!latency.is_ok()) return 1e9;
    double model_sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->tree.nodes.size(); ++i) {
      if (!measured(p->tree.nodes[i]) || (*latency)[i] <= 0) continue;
      model_sum += std::fabs(std::log((*latency)[i] / p->tree.nodes[i].measured->times_mean_s));
      ++n;
    }
    if (n == 0) continue;
    sum += model_sum / static_cast<double>(n);
    ++fitted;
  }
  return fitted ? sum / static_cast<double>(fitted) : 0;
}

// The cache levels whose bandwidths a calibration fits: the last level only. Fitting
// the second level's too was tried on profiles of BERT, DistilBERT, GPT-2 and SmolLM2
// here: the bandwidths were not identified (fits from 2e10 to 1e36 B/s) and the held-out
// node error did not improve (36.5 -> 40.3 %).
std::vector<double> fitted_caches(const machines::MachineSpec& m) {
  if (m.cache_bytes.empty()) return {};
  return {m.cache_bytes.back()};
}

// What a fit holds fixed: the sizes of the cache levels whose bandwidths it fits, and the
// per-kernel overhead when the profiles measured it.
struct FitShape {
  bool fit_bandwidth = false;  // the spec has no memory bandwidth
  std::vector<double> caches;
  std::optional<double> kernel_overhead_s;
  std::optional<MemoryLevels> memory;  // measured: used as they are
  std::optional<double> reference_speed_flop_per_s;
  WeightLayoutRatios untransposed_weight;
};

// The model of fitted parameters `t` (unbounded: logits and logs, in the order below).
LatencyModel model_of(const std::vector<double>& t, const FitShape& shape, const machines::MachineSpec& m) {
  LatencyModel lm = spec_latency_model(m);
  lm.reference_speed_flop_per_s = shape.reference_speed_flop_per_s;
  lm.untransposed_weight = shape.untransposed_weight;
  size_t k = 0;
  lm.params.gemm_efficiency = sigmoid(t[k++]);
  lm.params.attention_efficiency = lm.params.gemm_efficiency;
  lm.params.other_compute_efficiency = sigmoid(t[k++]);
  lm.params.transcendental_efficiency = sigmoid(t[k++]);
  lm.params.kernel_overhead_s = shape.kernel_overhead_s ? *shape.kernel_overhead_s : std::exp(t[k++]);
  lm.params.module_overhead_s = std::exp(t[k++]);
  lm.params.calibrated = true;
  if (shape.memory) {
    // The probe measured the very bytes per second a node's byte count stands for: no
    // efficiency on top. (Fitting one let the fit make every GEMM memory-bound: at one
    // profile shape, 32 tokens, all of them have the same FLOPs per byte, so compute and
    // memory time cannot be told apart, and the cache-resident elementwise ops paid for it.)
    lm.memory = *shape.memory;
    lm.params.memory_efficiency = 1;
    lm.params.compute_memory_overlap = sigmoid(t[k++]);
    return lm;
  }
  if (shape.fit_bandwidth) {
    lm.params.memory_efficiency = 1;
    lm.memory.bandwidth_bytes_per_s = std::exp(t[k++]);
  } else {
    lm.params.memory_efficiency = sigmoid(t[k++]);
  }
  for (double bytes : shape.caches)  // sizes from the spec, bandwidths fitted
    lm.memory.caches.push_back({bytes, std::exp(t[k++])});
  return lm;
}

// The median over the profiles of one figure of theirs, when every one has it.
std::optional<double> median_of(const std::vector<const ProfiledModel*>& models,
                                const std::function<std::optional<double>(const ProfiledModel&)>& figure) {
  std::vector<double> v;
  for (const ProfiledModel* p : models) {
    const std::optional<double> x = figure(*p);
    if (!x) return std::nullopt;
    v.push_back(*x);
  }
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The profiles' measured bandwidths, level by level: their medians, when every one has
// them at the same levels.
std::optional<MemoryLevels> measured_memory(const std::vector<const ProfiledModel*>& models) {
  if (models.empty()) return std::nullopt;
  for (const ProfiledModel* p : models) {
    if (!p->measured_memory || p->measured_memory->caches.size() != models.front()->measured_memory->caches.size())
      return std::nullopt;
  }
  MemoryLevels out = *models.front()->measured_memory;
  out.bandwidth_bytes_per_s =
      *median_of(models, [](const ProfiledModel& p) { return p.measured_memory->bandwidth_bytes_per_s; });
  for (size_t i = 0; i < out.caches.size(); ++i)
    out.caches[i].bandwidth_bytes_per_s = *median_of(
        models, [i](const ProfiledModel& p) { return p.measured_memory->caches[i].bandwidth_bytes_per_s; });
  return out;
}

// The profiles' measured weight-layout ratios, size by size: their medians, when every
// one measured them at the same sizes; else none (a Conv1D's product at a Linear's speed).
WeightLayoutRatios measured_weight_layouts(const std::vector<const ProfiledModel*>& models) {
  if (models.empty()) return {};
  for (const ProfiledModel* p : models)
    if (!p->weight_layouts || p->weight_layouts->by_op_bytes.size() != models.front()->weight_layouts->by_op_bytes.size())
      return {};
  WeightLayoutRatios out = *models.front()->weight_layouts;
  for (size_t i = 0; i < out.by_op_bytes.size(); ++i)
    out.by_op_bytes[i].second =
        *median_of(models, [i](const ProfiledModel& p) { return p.weight_layouts->by_op_bytes[i].second; });
  return out;
}

// The profiles' measured machine speed and dispatch cost.
std::optional<double> median_speed(const std::vector<const ProfiledModel*>& models) {
  return median_of(models, [](const ProfiledModel& p) { return p.speed_flop_per_s; });
}
std::optional<double> measured_dispatch(const std::vector<const ProfiledModel*>& models) {
  return median_of(models, [](const ProfiledModel& p) { return p.dispatch_overhead_s; });
}

double pct(double predicted, double measured) { return 100 * std::fabs(predicted - measured) / measured; }

struct Errors {
  double nodes = 0, model = 0;
  int measured_nodes = 0;
  std::map<std::string, std::pair<double, int>> by_class;  // summed error and nodes
};

Result<Errors> errors_of(const ProfiledModel& p, const machines::MachineSpec& m, const LatencyModel& lm) {
  IRENE_ASSIGN_OR_RETURN(std::vector<double> latency,
                         node_latencies(p.tree, machine_at_speed(m, lm, p.speed_flop_per_s), lm.params, lm.memory,
                                        lm.untransposed_weight));
  Errors e;
  for (size_t i = 1; i < p.tree.nodes.size(); ++i) {
    if (!measured(p.tree.nodes[i])) continue;
    const double err = pct(latency[i], p.tree.nodes[i].measured->times_mean_s);
    e.nodes += err;
    ++e.measured_nodes;
    auto& c = e.by_class[p.tree.nodes[i].cls];
    c.first += err;
    ++c.second;
  }
  if (e.measured_nodes) e.nodes /= e.measured_nodes;
  if (!measured(p.tree.root())) return Status::invalid_argument(p.file + ": the model itself was not profiled (use --level all)");
  e.model = pct(latency[0], p.tree.root().measured->times_mean_s);
  return e;
}

// {class: {"nodes", "error"}}: where a model's node error comes from.
nlohmann::json by_class_json(const Errors& e) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [cls, v] : e.by_class) out[cls] = {{"nodes", v.second}, {"error", v.first / v.second}};
  return out;
}

nlohmann::json json_or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json cache_bandwidths(const MemoryLevels& memory) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : memory.caches) out[std::to_string(static_cast<int64_t>(c.bytes))] = c.bandwidth_bytes_per_s;
  return out;
}

}  // namespace

Result<std::vector<ProfiledModel>> load_profiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::not_found("'" + dir + "' is not a folder of irene profiles");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<ProfiledModel> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("profile")) continue;  // not an irene profile
    auto t = tree::from_json(doc);
    if (!t.is_ok()) return Status::corrupt(f.string() + ": " + t.status().message());
    if (std::none_of(t->nodes.begin(), t->nodes.end(), measured))
      return Status::invalid_argument(f.string() + ": no node has a measured latency");
    std::optional<double> dispatch;
    const auto& header = doc["profile"];
    if (header.is_object() && header.contains("dispatch_overhead_s") && header["dispatch_overhead_s"].is_number() &&
        header["dispatch_overhead_s"].get<double>() > 0)
      dispatch = header["dispatch_overhead_s"].get<double>();
    // The measured bandwidths: every cache level, then memory.
    std::optional<MemoryLevels> memory;
    if (header.is_object() && header.contains("bandwidth_probe") && header["bandwidth_probe"].is_array() &&
        !header["bandwidth_probe"].empty()) {
      MemoryLevels m;
      bool ok = true;
      for (const auto& level : header["bandwidth_probe"]) {
        const double bw = level.value("bandwidth_bytes_per_s", 0.0);
        ok = ok && bw > 0;
        if (level.value("level", "") != "memory" && level.contains("level_bytes") && level["level_bytes"].is_number())
          m.caches.push_back({level["level_bytes"].get<double>(), bw});
        else
          m.bandwidth_bytes_per_s = bw;
      }
      std::sort(m.caches.begin(), m.caches.end(),
                [](const CacheLevel& a, const CacheLevel& b) { return a.bytes < b.bytes; });
      if (ok && m.bandwidth_bytes_per_s > 0) memory = m;
    }
    std::string device = "cpu";
    if (header.is_object() && header.contains("settings") && header["settings"].is_object())
      device = header["settings"].value("device", "cpu");
    std::optional<double> speed;
    if (header.is_object() && header.contains("speed_probe") && header["speed_probe"].is_object()) {
      // The mean over the rounds, as a node's latency is the mean of its rounds: both the
      // machine's typical speed over the profile. (Each node's fastest round against the
      // probe's median, or its fastest, did worse: on four sets of profiles here, nodes
      // 18.5 and 17.4 % against 15.0, model 15.5 and 11.6 against 10.1.)
      double sum = 0;
      int n = 0;
      const nlohmann::json rounds = header["speed_probe"].value("flop_per_s_by_round", nlohmann::json::array());
      for (const auto& r : rounds)
        if (r.is_number() && r.get<double>() > 0 && std::isfinite(r.get<double>())) sum += r.get<double>(), ++n;
      if (n > 0) speed = sum / n;
    }
    // A Conv1D's product's speed over a Linear's, at each size the probe measured.
    std::optional<WeightLayoutRatios> layouts;
    if (header.is_object() && header.contains("weight_layout_probe") && header["weight_layout_probe"].is_array()) {
      WeightLayoutRatios r;
      for (const auto& size : header["weight_layout_probe"]) {
        const double bytes = size.value("op_bytes", 0.0), ratio = size.value("speed_ratio", 0.0);
        if (bytes > 0 && ratio > 0 && std::isfinite(ratio)) r.by_op_bytes.emplace_back(bytes, ratio);
      }
      std::sort(r.by_op_bytes.begin(), r.by_op_bytes.end());
      if (!r.by_op_bytes.empty()) layouts = r;
    }
    out.push_back({f.string(), std::move(*t), dispatch, memory, device, speed, layouts});
  }
  if (out.empty()) return Status::not_found(dir + " holds no irene profile (JSON written by `irene profile`)");
  return out;
}

nlohmann::json weight_layouts_json(const WeightLayoutRatios& r) {
  if (r.by_op_bytes.empty()) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [bytes, ratio] : r.by_op_bytes) out.push_back({{"op_bytes", bytes}, {"speed_ratio", ratio}});
  return out;
}

bool is_profile_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "model_configs.json", ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") return true;
  return false;
}

machines::MachineSpec machine_at_speed(const machines::MachineSpec& m, const LatencyModel& lm,
                                       const std::optional<double>& speed) {
  if (!speed || !lm.reference_speed_flop_per_s || !(*lm.reference_speed_flop_per_s > 0)) return m;
  machines::MachineSpec out = m;
  for (auto& [dtype, peak] : out.peak_flops) peak *= *speed / *lm.reference_speed_flop_per_s;
  return out;
}

LatencyModel spec_latency_model(const machines::MachineSpec& m) {
  LatencyModel lm;
  lm.memory.bandwidth_bytes_per_s = m.memory_bandwidth_bytes_per_s ? *m.memory_bandwidth_bytes_per_s : kNoBandwidth;
  return lm;
}

LatencyModel fit_latency(const std::vector<const ProfiledModel*>& models, const machines::MachineSpec& m,
                         int max_evaluations) {
  FitShape shape;
  shape.fit_bandwidth = !m.memory_bandwidth_bytes_per_s;
  shape.caches = fitted_caches(m);
  shape.kernel_overhead_s = measured_dispatch(models);
  shape.memory = measured_memory(models);
  shape.reference_speed_flop_per_s = median_speed(models);
  shape.untransposed_weight = measured_weight_layouts(models);
  const RooflineParams first;
  const double first_bandwidth = m.memory_bandwidth_bytes_per_s.value_or(kFirstGuessCpuBandwidth);
  std::vector<double> start = {logit(first.gemm_efficiency), logit(first.other_compute_efficiency),
                               logit(first.other_compute_efficiency)};  // transcendental ops start as the others
  if (!shape.kernel_overhead_s) start.push_back(std::log(first.kernel_overhead_s));
  start.push_back(std::log(1e-6));  // a module call: a microsecond
  if (shape.memory) {  // the measured bandwidths as they are, and how far memory hides under compute
    start.push_back(logit(0.5));
  } else {
    start.push_back(shape.fit_bandwidth ? std::log(first_bandwidth) : logit(first.memory_efficiency));
    // Caches start several times faster than memory, the smaller ones faster still.
    for (size_t level = 0; level < shape.caches.size(); ++level)
      start.push_back(std::log(first_bandwidth * static_cast<double>(4 << (shape.caches.size() - 1 - level))));
  }
  auto f = [&](const std::vector<double>& t) { return objective(models, m, model_of(t, shape, m)); };
  std::vector<double> best = nelder_mead(f, start, max_evaluations);
  best = nelder_mead(f, best, max_evaluations);  // a fresh simplex where the first one collapsed
  return model_of(best, shape, m);
}

Result<nlohmann::json> latency_crossval(const std::vector<ProfiledModel>& models, const machines::MachineSpec& m) {
  if (models.size() < 2) return Status::invalid_argument("leave-one-model-out needs profiles of two models or more");
  nlohmann::json per_model = nlohmann::json::object();
  double calibrated_nodes = 0, calibrated_model = 0, spec_nodes = 0, spec_model = 0;
  const LatencyModel spec = spec_latency_model(m);
  for (size_t held = 0; held < models.size(); ++held) {
    std::vector<const ProfiledModel*> train;
    for (size_t i = 0; i < models.size(); ++i)
      if (i != held) train.push_back(&models[i]);
    const LatencyModel fitted = fit_latency(train, m);
    IRENE_ASSIGN_OR_RETURN(Errors c, errors_of(models[held], m, fitted));
    IRENE_ASSIGN_OR_RETURN(Errors s, errors_of(models[held], m, spec));
    const tree::Tree& t = models[held].tree;
    per_model[t.model + " (" + std::to_string(t.batch_size) + ", " + std::to_string(t.seq_len) + ")"] = {
        {"calibrated", {{"nodes", c.nodes}, {"model", c.model}}},
        {"spec_only", {{"nodes", s.nodes}, {"model", s.model}}},
        {"measured_nodes", c.measured_nodes},
        {"calibrated_by_class", by_class_json(c)},
        {"fitted", {{"gemm_efficiency", fitted.params.gemm_efficiency},
                    {"other_compute_efficiency", fitted.params.other_compute_efficiency},
                    {"transcendental_efficiency", fitted.params.transcendental_efficiency},
                    {"kernel_overhead_s", fitted.params.kernel_overhead_s},
                    {"module_overhead_s", fitted.params.module_overhead_s},
                    {"kernel_overhead_from", measured_dispatch(train) ? "the profiles' measured dispatch" : "the fit"},
                    {"bandwidths_from", measured_memory(train) ? "the profiles' measured copies" : "the fit"},
                    {"memory_efficiency", fitted.params.memory_efficiency},
                    {"compute_memory_overlap", fitted.params.compute_memory_overlap},
                    {"bandwidth_bytes_per_s", fitted.memory.bandwidth_bytes_per_s},
                    {"cache_bandwidths_bytes_per_s", cache_bandwidths(fitted.memory)},
                    {"reference_speed_flop_per_s", json_or_null(fitted.reference_speed_flop_per_s)},
                    {"held_out_speed_flop_per_s", json_or_null(models[held].speed_flop_per_s)},
                    {"untransposed_weight_speed", weight_layouts_json(fitted.untransposed_weight)}}}};
    calibrated_nodes += c.nodes;
    calibrated_model += c.model;
    spec_nodes += s.nodes;
    spec_model += s.model;
  }
  const double n = static_cast<double>(models.size());
  std::vector<const ProfiledModel*> all;
  for (const auto& p : models) all.push_back(&p);
  return nlohmann::json{
      {"machine", m.id},
      {"per_model", per_model},
      {"calibrated", {{"nodes", calibrated_nodes / n}, {"model", calibrated_model / n}}},
      {"spec_only", {{"nodes", spec_nodes / n}, {"model", spec_model / n}}},
      {"note", std::string("mean of 100 x |predicted - measured| / measured latency: nodes = every profiled node below "
                           "the root, weighted equally, averaged per model; model = the whole forward pass") +
                   (m.memory_bandwidth_bytes_per_s ? "" : "; the spec has no memory bandwidth: spec-only leaves memory time out") +
                   (measured_memory(all) ? "; calibrated with the profiles' measured copy bandwidths"
                                         : "; the calibration fits the bandwidths") +
                   (measured_dispatch(all) ? " and their measured dispatch cost per kernel" : "") +
                   (median_speed(all) ? "; every profile predicted at its own measured machine speed (the mean over "
                                        "its rounds of the reference product's fastest run)"
                                      : "") +
                   (measured_weight_layouts(all).by_op_bytes.empty()
                        ? ""
                        : "; a Conv1D's product (weight [in, out]) at the profiles' measured speed of that layout "
                          "over a Linear's")}};
}

}  // namespace irene::predict
