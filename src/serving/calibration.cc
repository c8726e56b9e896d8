#include "serving/calibration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "models/zoo.h"

namespace irene::serving {

namespace {

constexpr int kParams = 7;
using Theta = std::array<double, kParams>;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1 - p)); }

predict::RooflineParams params_of(const Theta& t) {
  predict::RooflineParams p;
  p.gemm_efficiency = sigmoid(t[0]);
  p.attention_efficiency = p.gemm_efficiency;
  p.memory_efficiency = sigmoid(t[1]);
  p.kernel_overhead_s = std::exp(t[2]);
  p.compute_power = std::exp(t[3]);
  p.memory_power = std::exp(t[4]);
  p.step_overhead_s = std::exp(t[5]);
  p.per_sequence_overhead_s = std::exp(t[6]);
  p.calibrated = true;
  return p;
}

Theta theta_of(const predict::RooflineParams& p) {
  // The engine overheads start small but not at 0, which the log scale cannot hold.
  return {logit(p.gemm_efficiency),   logit(p.memory_efficiency),
          std::log(p.kernel_overhead_s), std::log(p.compute_power),
          std::log(p.memory_power),      std::log(std::max(p.step_overhead_s, 1e-4)),
          std::log(std::max(p.per_sequence_overhead_s, 1e-6))};
}

// Mean squared log error of energy per token and time per output token.
double objective(const std::vector<const ServingCase*>& cases, const predict::RooflineParams& p) {
  double sum = 0;
  for (const ServingCase* c : cases) {
    auto e = c->workload->estimate(c->machine, p);
    if (!e.is_ok()) return 1e9;
    const double de = std::log(e->energy_per_output_token_j / c->row->energy_per_token_j);
    const double dt = std::log(e->tpot_s / c->row->tpot_s);
    sum += de * de + dt * dt;
  }
  return cases.empty() ? 0 : sum / static_cast<double>(cases.size());
}

// Nelder-Mead simplex minimisation (standard reflection/expansion/contraction/shrink).
Theta minimise(const std::function<double(const Theta&)>& f, Theta start, int max_evaluations) {
  std::vector<Theta> x(kParams + 1, start);
  for (int i = 0; i < kParams; ++i) x[i + 1][i] += 0.5;
  std::vector<double> y;
  for (const Theta& t : x) y.push_back(f(t));
  int evaluations = kParams + 1;
  while (evaluations < max_evaluations) {
    std::vector<int> order(x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return y[a] < y[b]; });
    const int best = order.front(), worst = order.back(), second = order[order.size() - 2];
    if (std::fabs(y[worst] - y[best]) < 1e-10) break;
    Theta centroid{};
    for (int i : order)
      if (i != worst)
        for (int k = 0; k < kParams; ++k) centroid[k] += x[i][k] / kParams;
    auto along = [&](double a) {
      Theta t;
      for (int k = 0; k < kParams; ++k) t[k] = centroid[k] + a * (x[worst][k] - centroid[k]);
      return t;
    };
    const Theta r = along(-1);
    const double yr = f(r);
    ++evaluations;
    if (yr < y[best]) {
      const Theta e = along(-2);
      const double ye = f(e);
      ++evaluations;
      if (ye < yr) x[worst] = e, y[worst] = ye;
      else x[worst] = r, y[worst] = yr;
    } else if (yr < y[second]) {
      x[worst] = r, y[worst] = yr;
    } else {
      const Theta c = along(0.5);
      const double yc = f(c);
      ++evaluations;
      if (yc < y[worst]) {
        x[worst] = c, y[worst] = yc;
      } else {
        for (size_t i = 0; i < x.size(); ++i) {
          if (static_cast<int>(i) == best) continue;
          for (int k = 0; k < kParams; ++k) x[i][k] = x[best][k] + 0.5 * (x[i][k] - x[best][k]);
          y[i] = f(x[i]);
          ++evaluations;
        }
      }
    }
  }
  return x[std::min_element(y.begin(), y.end()) - y.begin()];
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double pct_error(double predicted, double measured) { return 100 * std::fabs(predicted - measured) / measured; }

}  // namespace

nlohmann::json to_json(const predict::RooflineParams& p) {
  return {{"gemm_efficiency", p.gemm_efficiency},     {"attention_efficiency", p.attention_efficiency},
          {"memory_efficiency", p.memory_efficiency}, {"kernel_overhead_s", p.kernel_overhead_s},
          {"compute_power", p.compute_power},         {"memory_power", p.memory_power},
          {"step_overhead_s", p.step_overhead_s},     {"per_sequence_overhead_s", p.per_sequence_overhead_s},
          {"calibrated", p.calibrated}};
}

Result<std::vector<ServingCase>> build_cases(const MeasuredData& data, const CalibrationOptions& o) {
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t, int>, std::shared_ptr<const ServingWorkload>> cache;
  std::vector<ServingCase> cases;
  for (const MeasuredServing& r : data.rows) {
    auto machine = machines::find_machine(r.machine_id);
    if (!machine.is_ok()) continue;  // a GPU the catalogue lacks
    ServingConfig s;
    s.batch_size = std::max<int64_t>(1, std::llround(r.avg_batch_size));
    s.prompt_len = std::llround(r.avg_input_tokens.value_or(o.default_prompt_len));
    s.output_len = std::max<int64_t>(2, std::llround(r.avg_output_tokens));
    s.num_gpus = r.num_gpus;  // pipeline stages are counted as tensor-parallel GPUs
    auto key = std::make_tuple(r.model, s.batch_size, s.prompt_len, s.output_len, s.num_gpus);
    auto& w = cache[key];
    if (!w) {
      IRENE_ASSIGN_OR_RETURN(ServingWorkload built, ServingWorkload::build(data.configs.at(r.model), s));
      w = std::make_shared<const ServingWorkload>(std::move(built));
    }
    cases.push_back({&r, w, *machine});
  }
  return cases;
}

Calibration fit(const std::vector<const ServingCase*>& cases, const CalibrationOptions& o) {
  const Theta best = minimise([&](const Theta& t) { return objective(cases, params_of(t)); },
                              theta_of(predict::RooflineParams{}), o.max_evaluations);
  Calibration c;
  c.params = params_of(best);
  c.objective = objective(cases, c.params);
  std::vector<double> residuals;
  for (const ServingCase* k : cases)
    if (auto e = k->workload->estimate(k->machine, c.params); e.is_ok())
      residuals.push_back(std::log(k->row->energy_per_token_j / e->energy_per_output_token_j));
  c.log_residual_low = quantile(residuals, (1 - o.interval_level) / 2);
  c.log_residual_high = quantile(residuals, 1 - (1 - o.interval_level) / 2);
  return c;
}

Result<nlohmann::json> crossval(const std::vector<ServingCase>& cases, const CalibrationOptions& o) {
  std::map<std::string, std::set<std::string>> models_by_gpu;
  for (const auto& c : cases) models_by_gpu[c.row->gpu].insert(c.row->model);
  if (models_by_gpu.empty()) return Status::invalid_argument("no measured rows on a catalogued machine");
  const char* figures[] = {"energy_per_token", "power", "tpot"};
  nlohmann::json out;
  for (const char* f : figures) out[f] = {{"per_model", nlohmann::json::object()}, {"per_gpu", nlohmann::json::object()}};
  int inside = 0, held_out = 0;
  std::map<std::string, std::array<double, 3>> gpu_sums;
  for (const auto& [gpu, models] : models_by_gpu) {
    std::array<double, 3> gpu_total{};
    for (const std::string& model : models) {
      std::vector<const ServingCase*> train, test;
      for (const auto& c : cases) {
        if (c.row->gpu != gpu) continue;
        (c.row->model == model ? test : train).push_back(&c);
      }
      if (train.empty()) continue;
      const Calibration cal = fit(train, o);
      std::array<double, 3> err{};
      for (const ServingCase* c : test) {
        IRENE_ASSIGN_OR_RETURN(ServingEstimate e, c->workload->estimate(c->machine, cal.params));
        err[0] += pct_error(e.energy_per_output_token_j, c->row->energy_per_token_j);
        err[1] += pct_error(e.power_w, c->row->power_w);
        err[2] += pct_error(e.tpot_s, c->row->tpot_s);
        const double lo = e.energy_per_output_token_j * std::exp(cal.log_residual_low);
        const double hi = e.energy_per_output_token_j * std::exp(cal.log_residual_high);
        inside += c->row->energy_per_token_j >= lo && c->row->energy_per_token_j <= hi;
        ++held_out;
      }
      for (int k = 0; k < 3; ++k) {
        const double mean = err[k] / static_cast<double>(test.size());
        out[figures[k]]["per_model"][gpu][model] = mean;
        gpu_total[k] += mean / static_cast<double>(models.size());
      }
    }
    gpu_sums[gpu] = gpu_total;
    for (int k = 0; k < 3; ++k) out[figures[k]]["per_gpu"][gpu] = gpu_total[k];
  }
  for (int k = 0; k < 3; ++k) {
    double sum = 0;
    for (const auto& [gpu, v] : gpu_sums) sum += v[k];
    out[figures[k]]["average"] = sum / static_cast<double>(gpu_sums.size());
  }
  out["coverage"] = {{"level", o.interval_level},
                     {"observed", held_out ? static_cast<double>(inside) / held_out : 0.0},
                     {"held_out_rows", held_out}};
  // Cross-GPU: calibrated on every row of one GPU, predicting another's rows.
  nlohmann::json cross = nlohmann::json::object();
  for (const auto& [from, unused] : models_by_gpu) {
    std::vector<const ServingCase*> train;
    for (const auto& c : cases)
      if (c.row->gpu == from) train.push_back(&c);
    const Calibration cal = fit(train, o);
    for (const auto& [to, unused2] : models_by_gpu) {
      if (to == from) continue;
      std::array<double, 3> err{};
      int n = 0;
      for (const auto& c : cases) {
        if (c.row->gpu != to) continue;
        IRENE_ASSIGN_OR_RETURN(ServingEstimate e, c.workload->estimate(c.machine, cal.params));
        err[0] += pct_error(e.energy_per_output_token_j, c.row->energy_per_token_j);
        err[1] += pct_error(e.power_w, c.row->power_w);
        err[2] += pct_error(e.tpot_s, c.row->tpot_s);
        ++n;
      }
      cross[from + " -> " + to] = {{"energy_per_token", err[0] / n}, {"power", err[1] / n}, {"tpot", err[2] / n},
                                   {"rows", n}};
    }
  }
  out["cross_gpu"] = cross;
  out["settings"] = {{"default_prompt_len", o.default_prompt_len},
                     {"note", "prompt lengths are not published; pipeline stages are counted as tensor-parallel GPUs"}};
  return out;
}

}  // namespace irene::serving
