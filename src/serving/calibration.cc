#include "serving/calibration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "models/zoo.h"
#include "predict/nelder_mead.h"

namespace irene::serving {

namespace {

using Theta = std::vector<double>;  // the fitted parameters, unbounded (logit or log of each)

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1 - p)); }

// How each parameter a fit can move is made unbounded, and where it starts: shares in
// (0, 1) by their logit, times and power factors by their log. Engine overheads start
// small but not at 0, which the log scale cannot hold; the sampler's time per logit at
// about a sort's of one request's row (1e-10 s: 13 us for a 128 K vocabulary), since the
// fit is not convex and a start decades away ends elsewhere.
struct FitParam {
  const char* name;
  double predict::RooflineParams::*field;
  bool share;    // logit, else log
  double floor;  // the start's lower bound on the log scale
};
constexpr FitParam kFitParams[] = {
    {"gemm_efficiency", &predict::RooflineParams::gemm_efficiency, true, 0},
    {"memory_efficiency", &predict::RooflineParams::memory_efficiency, true, 0},
    {"kernel_overhead_s", &predict::RooflineParams::kernel_overhead_s, false, 0},
    {"compute_power", &predict::RooflineParams::compute_power, false, 0},
    {"memory_power", &predict::RooflineParams::memory_power, false, 0},
    {"dequant_power", &predict::RooflineParams::dequant_power, true, 0},
    {"step_overhead_s", &predict::RooflineParams::step_overhead_s, false, 1e-4},
    {"per_sequence_overhead_s", &predict::RooflineParams::per_sequence_overhead_s, false, 1e-6},
    {"per_logit_s", &predict::RooflineParams::per_logit_s, false, 1e-10},
    {"host_wait_power", &predict::RooflineParams::host_wait_power, true, 0},
    {"collective_wait_power", &predict::RooflineParams::collective_wait_power, true, 0},
    {"all_reduce_latency_s", &predict::RooflineParams::all_reduce_latency_s, false, 1e-6},
    {"admission_overhead_s", &predict::RooflineParams::admission_overhead_s, false, 1e-7},
    {"kernel_gap_s", &predict::RooflineParams::kernel_gap_s, false, 1e-7},
    {"expert_parallel_latency_s", &predict::RooflineParams::expert_parallel_latency_s, false, 1e-5},
};

const FitParam& fit_param(const std::string& name) {
  for (const FitParam& f : kFitParams)
    if (name == f.name) return f;
  return kFitParams[0];  // engine descriptions are checked against these names (engines/engine.cc)
}

// The parameters `names` fits, the rest as in `base`.
predict::RooflineParams params_of(const Theta& t, const std::vector<std::string>& names,
                                  const predict::RooflineParams& base) {
  predict::RooflineParams p = base;
  for (size_t i = 0; i < names.size(); ++i) {
    const FitParam& f = fit_param(names[i]);
    p.*f.field = f.share ? sigmoid(t[i]) : std::exp(t[i]);
  }
  p.attention_efficiency = p.gemm_efficiency;
  p.calibrated = true;
  return p;
}

Theta theta_of(const predict::RooflineParams& p, const std::vector<std::string>& names) {
  Theta t;
  for (const std::string& name : names) {
    const FitParam& f = fit_param(name);
    const double v = p.*f.field;
    // A share fitted to its bound (1) would start at an infinite logit: kept inside. Power
    // shares start inside (0.05, 0.95) too: at 0 (not fitted before) a step of the simplex
    // on the logit scale would not move them.
    const bool power = name == "host_wait_power" || name == "collective_wait_power" || name == "dequant_power";
    if (f.share) t.push_back(logit(power ? std::clamp(v < 0 ? p.host_wait_power : v, 0.05, 0.95) : std::clamp(v, 1e-6, 1 - 1e-6)));
    else if (name == "kernel_gap_s") t.push_back(std::log(v >= 0 ? std::max(v, f.floor) : p.kernel_overhead_s));
    else t.push_back(std::log(std::max(v, f.floor)));
  }
  return t;
}

// The time figure of a row and its prediction: the mean time per output token (a closed
// run's, drain included, where the data gave the run) or the median inter-token latency.
double predicted_time(const ServingCase& c, const ServingEstimate& e) {
  if (c.row->time_is_itl()) return e.itl_median_s.value_or(e.tpot_s);
  return e.run_tpot_s.value_or(e.tpot_s);
}

// Mean absolute log error of four figures a serving answer gives: energy per token,
// power, time per output token and throughput (power is energy over time, but weighing it
// on its own keeps a fit from trading a power error against a time error of the other
// sign; throughput against TPOT splits the server's time between decode iterations and
// what runs between them, which energy and power alone leave free).
// Absolute, not squared: what crossval reports is the mean absolute percent error, and a
// few rows the model cannot follow (pipelines across nodes) should not pull the rest.
double objective(const std::vector<const ServingCase*>& cases, const std::vector<double>& weights,
                 const predict::RooflineParams& p, double conversation_cached_share) {
  double sum = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ServingCase* c = cases[i];
    auto e = c->workload->estimate(c->machine, p, c->row->conversation_turns ? conversation_cached_share : 0);
    if (!e.is_ok()) return 1e9;
    const double de = std::log(e->energy_per_output_token_j / c->row->energy_per_token_j);
    const double dt = std::log(predicted_time(*c, *e) / c->row->time_s());
    const double dp = std::log(e->power_w / c->row->power_w);
    const double dr = std::log(e->throughput_tokens_per_s / c->row->throughput_tokens_per_s);
    sum += weights[i] * (std::fabs(de) + std::fabs(dt) + std::fabs(dp) + std::fabs(dr));
  }
  return sum;
}

// Each model weighs the same whatever its number of rows, as crossval averages them and
// as the intervals pool them: a row weighs 1 / (models x its model's rows).
std::vector<double> model_weights(const std::vector<const ServingCase*>& cases) {
  std::map<std::string, int> rows;
  for (const ServingCase* c : cases) ++rows[c->row->model];
  std::vector<double> w;
  for (const ServingCase* c : cases) w.push_back(1.0 / (static_cast<double>(rows.size()) * rows[c->row->model]));
  return w;
}

}  // namespace

const char* const kFigureNames[kFigures] = {"energy_per_token", "power", "tpot", "throughput"};

std::string data_group(const MeasuredServing& r) {
  return r.engine == engines::kLegacyEngineId ? r.gpu : r.gpu + " (" + r.engine + ")";
}

Result<std::vector<ServingCase>> build_cases(const MeasuredData& data, const CalibrationOptions& o) {
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t, int, int, int64_t, int64_t>, std::shared_ptr<const ServingWorkload>>
      cache;
  // A configuration (model, task, GPUs) some of whose rows ran at least as many requests
  // at once as the default run holds did not run the default: its run is unknown (the
  // data's pipelines across nodes, 2,930 running), so none of its rows count a drain.
  using Setup = std::tuple<std::string, std::string, std::string, int, int>;
  auto setup_of = [](const MeasuredServing& r) {
    return Setup{r.model, r.task, r.gpu, r.num_gpus, r.pipeline_parallel};
  };
  std::map<Setup, double> most_running;
  for (const MeasuredServing& r : data.rows)
    most_running[setup_of(r)] = std::max(most_running[setup_of(r)], r.avg_batch_size);
  std::vector<ServingCase> cases;
  for (const MeasuredServing& r : data.rows) {
    auto machine = machines::find_machine(r.machine_id);
    if (!machine.is_ok()) continue;  // a GPU the catalogue lacks
    ServingConfig s;
    s.size_limits = false;  // measured data are of real deployments
    s.engine = r.engine;
    s.data_parallel = r.data_parallel;
    s.expert_parallel = r.expert_parallel > 1;
    if (r.max_num_batched_tokens) s.max_num_batched_tokens = std::llround(*r.max_num_batched_tokens);
    // A checkpoint the data says is quantised while its config (a sibling's) is not: as
    // the engine quantises it (Llama-4-Maverick's FP8 from its BF16 config).
    const auto& q = data.configs.at(r.model).decoder.quantization;
    if (q.method.empty() && (r.weight_precision == "fp8" || r.weight_precision == "mxfp4" || r.weight_precision == "nvfp4"))
      s.quantization = r.weight_precision;
    s.batch_size = std::max<int64_t>(1, std::llround(r.avg_batch_size));
    s.prompt_len = std::llround(r.avg_input_tokens.value_or(o.default_prompt_len));
    s.output_len = std::max<int64_t>(2, std::llround(r.avg_output_tokens));
    s.num_gpus = r.num_gpus;
    s.pipeline_parallel = r.pipeline_parallel;
    // The measured TPOT averages the whole run where its protocol is known and the run
    // is larger than the batch (else the steady state's).
    const bool default_fits = most_running[setup_of(r)] < o.default_run_requests;
    const std::optional<double> requests =
        r.num_requests ? r.num_requests : default_fits ? std::optional<double>(o.default_run_requests) : std::nullopt;
    const bool drains = r.engine == engines::kLegacyEngineId;  // engines since: steady-state figures
    if (drains && r.max_output_tokens && requests && *requests > static_cast<double>(s.batch_size) &&
        static_cast<double>(s.output_len) < *r.max_output_tokens) {
      s.run_requests = std::llround(*requests);
      s.max_output_len = std::llround(*r.max_output_tokens);
    }
    auto key = std::make_tuple(r.model + "|" + r.engine + "|" + s.quantization + "|" + std::to_string(s.data_parallel) +
                                   "|" + std::to_string(s.max_num_batched_tokens),
                               s.batch_size, s.prompt_len, s.output_len, s.num_gpus, s.pipeline_parallel,
                               s.run_requests, s.max_output_len);
    auto& w = cache[key];
    if (!w) {
      IRENE_ASSIGN_OR_RETURN(ServingWorkload built, ServingWorkload::build(data.configs.at(r.model), s));
      w = std::make_shared<const ServingWorkload>(std::move(built));
    }
    cases.push_back({&r, w, *machine});
  }
  return cases;
}

Calibration fit(const std::vector<const ServingCase*>& cases, const CalibrationOptions& o,
                const std::vector<std::string>* only, const predict::RooflineParams& base) {
  if (cases.empty()) return Calibration{base};
  const std::vector<std::string>& names = only ? *only : cases.front()->workload->engine().fitted;
  const std::vector<double> weights = model_weights(cases);
  // Rows whose requests are conversations' turns, each sent with the turns before it, on
  // an engine that caches their prefixes: how much of a prompt the cache holds is a fact
  // of the data's prompts no file gives, fitted beside the parameters (a last coordinate).
  const bool conversations = std::any_of(cases.begin(), cases.end(), [](const ServingCase* c) {
    return c->row->conversation_turns && c->workload->caches_prompts();
  });
  auto f = [&](const Theta& t) {
    return objective(cases, weights, params_of(t, names, base), conversations ? sigmoid(t.back()) : 0);
  };
  Theta start = theta_of(base, names);
  if (conversations) start.push_back(logit(0.3));
  // The fit is not convex: with several starts (the engine's calibration says how many),
  // the first is `base`, the others every coordinate moved by +1, -1, +2, ... on its
  // unbounded scale (x e or its logit), and the lowest objective wins.
  Theta best;
  double best_f = 0;
  const int starts = std::max(1, cases.front()->workload->engine().calibration_starts);
  for (int s = 0; s < starts; ++s) {
    Theta t = start;
    const double shift = s == 0 ? 0 : (s % 2 ? 1.0 : -1.0) * ((s + 1) / 2);
    for (double& v : t) v += shift;
    t = predict::nelder_mead(f, t, o.max_evaluations);
    // Nelder-Mead can stall with a collapsed simplex; a fresh one around the best point
    // lets it go on.
    for (int i = 0; i < o.restarts; ++i) t = predict::nelder_mead(f, t, o.max_evaluations);
    const double ft = f(t);
    if (s == 0 || ft < best_f) best = t, best_f = ft;
  }
  Calibration out{params_of(best, names, base)};
  if (conversations) out.conversation_cached_share = sigmoid(best.back());
  return out;
}

namespace {

// ln(measured / predicted) of the four figures of one row.
Result<Figures> log_residuals(const ServingCase& c, const Calibration& cal) {
  IRENE_ASSIGN_OR_RETURN(ServingEstimate e, c.workload->estimate(c.machine, cal.params,
                                                                 c.row->conversation_turns ? cal.conversation_cached_share : 0));
  return Figures{std::log(c.row->energy_per_token_j / e.energy_per_output_token_j), std::log(c.row->power_w / e.power_w),
                 std::log(c.row->time_s() / predicted_time(c, e)),
                 std::log(c.row->throughput_tokens_per_s / e.throughput_tokens_per_s)};
}

// 100 x |predicted - measured| / measured from ln(measured / predicted).
double pct_of(double log_residual) { return 100 * std::fabs(std::exp(-log_residual) - 1); }

// The q-quantile of values weighted by `weight`: the smallest value whose cumulative
// weight reaches q of the total (an order statistic, not interpolated, as conformal
// intervals take it).
double weighted_quantile(std::vector<std::pair<double, double>> v, double q) {
  std::sort(v.begin(), v.end());
  double total = 0;
  for (const auto& [x, w] : v) total += w;
  double cumulative = 0;
  for (const auto& [x, w] : v) {
    cumulative += w;
    if (cumulative >= q * total) return x;
  }
  return v.back().first;
}

// The intraclass correlation of one figure's residuals grouped by model (the one-way
// ANOVA estimator, clipped at 0): how much of their spread is a model's own bias, shared
// by all its rows, rather than row-to-row noise.
double intraclass_correlation(const std::vector<const std::vector<Figures>*>& groups, int k) {
  double n = 0, sum = 0, squares_of_sizes = 0;
  for (const auto* g : groups) {
    n += static_cast<double>(g->size());
    squares_of_sizes += static_cast<double>(g->size() * g->size());
    for (const Figures& r : *g) sum += r[k];
  }
  const double groups_n = static_cast<double>(groups.size());
  if (groups_n < 2 || n <= groups_n) return 0;
  const double grand = sum / n;
  double between = 0, within = 0;
  for (const auto* g : groups) {
    double mean = 0;
    for (const Figures& r : *g) mean += r[k] / static_cast<double>(g->size());
    between += static_cast<double>(g->size()) * (mean - grand) * (mean - grand);
    for (const Figures& r : *g) within += (r[k] - mean) * (r[k] - mean);
  }
  const double ms_between = between / (groups_n - 1), ms_within = within / (n - groups_n);
  const double n0 = (n - squares_of_sizes / n) / (groups_n - 1);  // the groups' typical size
  const double denominator = ms_between + (n0 - 1) * ms_within;
  return denominator > 0 ? std::max(0.0, (ms_between - ms_within) / denominator) : 0;
}

}  // namespace

Intervals intervals_of(const std::vector<HeldOutModel>& models, double level, const std::string* except) {
  std::array<std::vector<std::pair<double, double>>, kFigures> pooled;
  std::vector<const std::vector<Figures>*> groups;
  for (const auto& m : models) {
    if (except && m.model == *except) continue;
    groups.push_back(&m.log_residuals);
    const double weight = 1.0 / static_cast<double>(m.log_residuals.size());
    for (const Figures& r : m.log_residuals)
      for (int k = 0; k < kFigures; ++k) pooled[k].push_back({r[k], weight});
  }
  Intervals out;
  out.level = level;
  if (pooled[0].size() < 2) return out;  // every figure has a residual on each row
  const double rows_per_model = static_cast<double>(pooled[0].size()) / static_cast<double>(groups.size());
  std::optional<LogInterval>* slots[kFigures] = {&out.energy, &out.power, &out.tpot, &out.throughput};
  for (int k = 0; k < kFigures; ++k) {
    // Centred on the residuals' median (a bias the other models share is carried to the
    // new one), half as wide as the level's quantile of the residuals' distances from it,
    // with the finite-sample step of conformal intervals (the ceil((n + 1)(1 - a)) / n
    // quantile, Lei et al. 2018). n is the residuals' effective number: Kish's for the
    // weights, divided by the design effect of residuals clustered by model,
    // 1 + (m - 1) x ICC (Kish 1965, m the models' mean number of rows), since rows of one
    // model share its bias and count as fewer than their number. One quantile of
    // distances, not one per tail: a tail's a / 2 needs n >= 19 before its step falls
    // short of the extreme residual, and the data's GPUs have 15-22 effective residuals,
    // so per-tail steps gave the widest interval the residuals allow (96 % of held-out
    // rows inside at 90 %); the distances' step needs n >= 9.
    double sum = 0, squares = 0;
    for (const auto& [x, w] : pooled[k]) sum += w, squares += w * w;
    const double design_effect = 1 + (rows_per_model - 1) * intraclass_correlation(groups, k);
    const double n = std::max(1.0, sum * sum / squares / design_effect);
    const double centre = weighted_quantile(pooled[k], 0.5);
    std::vector<std::pair<double, double>> distances;
    for (const auto& [x, w] : pooled[k]) distances.push_back({std::fabs(x - centre), w});
    const double half = weighted_quantile(std::move(distances), std::min(1.0, level * (n + 1) / n));
    *slots[k] = LogInterval{centre - half, centre + half};
  }
  return out;
}

namespace {

std::vector<const ServingCase*> rows_of(const std::vector<ServingCase>& cases, const std::string& gpu) {
  std::vector<const ServingCase*> out;
  for (const auto& c : cases)
    if (data_group(*c.row) == gpu) out.push_back(&c);
  return out;
}

// The residuals and mean percent errors of `rows` under `params` (a fit that never saw
// them); rows the roofline cannot estimate are left out.
HeldOutModel held_out(const std::string& gpu, const std::string& model, const std::vector<const ServingCase*>& rows,
                      const Calibration& cal) {
  HeldOutModel h{gpu, model, {}, {}, {}};
  for (const ServingCase* c : rows) {
    auto r = log_residuals(*c, cal);
    if (!r.is_ok()) continue;
    h.log_residuals.push_back(*r);
    h.rows.push_back(c);
    for (int k = 0; k < kFigures; ++k) h.mean_pct_error[k] += pct_of((*r)[k]);
  }
  for (double& v : h.mean_pct_error) v /= static_cast<double>(std::max<size_t>(1, h.log_residuals.size()));
  return h;
}

std::set<std::string> gpus_of(const std::vector<ServingCase>& cases) {
  std::set<std::string> out;
  for (const auto& c : cases) out.insert(data_group(*c.row));
  return out;
}

}  // namespace

std::vector<HeldOutModel> leave_one_model_out(const std::vector<ServingCase>& cases, const std::string& gpu,
                                              const CalibrationOptions& o, const Progress& progress) {
  std::set<std::string> models;
  for (const ServingCase* c : rows_of(cases, gpu)) models.insert(c->row->model);
  std::vector<HeldOutModel> out;
  int done = 0;
  for (const std::string& model : models) {
    std::vector<const ServingCase*> train, test;
    for (const ServingCase* c : rows_of(cases, gpu)) (c->row->model == model ? test : train).push_back(c);
    if (progress) progress(done++, static_cast<int>(models.size()));
    if (train.empty()) continue;  // one model alone: nothing to fit on
    HeldOutModel h = held_out(gpu, model, test, fit(train, o));
    if (!h.log_residuals.empty()) out.push_back(std::move(h));
  }
  if (progress) progress(static_cast<int>(models.size()), static_cast<int>(models.size()));
  return out;
}

Result<nlohmann::json> crossval(const std::vector<ServingCase>& cases, const CalibrationOptions& o,
                                const Progress& progress) {
  const std::set<std::string> gpus = gpus_of(cases);
  if (gpus.empty()) return Status::invalid_argument("no measured rows on a catalogued machine");
  std::set<std::pair<std::string, std::string>> all_models;
  for (const auto& c : cases) all_models.insert({data_group(*c.row), c.row->model});
  const int total = static_cast<int>(all_models.size() + gpus.size());
  int done = 0;
  nlohmann::json out;
  for (const char* f : kFigureNames) out[f] = {{"per_model", nlohmann::json::object()}, {"per_gpu", nlohmann::json::object()}};
  std::array<int, kFigures> inside{};
  int held_out_rows = 0;
  nlohmann::json detail = nlohmann::json::array();  // every held-out row: measured and predicted
  Figures average{};
  for (const std::string& gpu : gpus) {
    const std::vector<HeldOutModel> held = leave_one_model_out(cases, gpu, o, [&](int d, int) {
      if (progress) progress(done + d, total);
    });
    done += static_cast<int>(std::count_if(all_models.begin(), all_models.end(),
                                           [&](const auto& m) { return m.first == gpu; }));
    Figures gpu_mean{};
    for (const HeldOutModel& h : held) {
      for (int k = 0; k < kFigures; ++k) {
        out[kFigureNames[k]]["per_model"][gpu][h.model] = h.mean_pct_error[k];
        gpu_mean[k] += h.mean_pct_error[k] / static_cast<double>(held.size());
      }
      // Cross-validation+: this model's interval from the other models' held-out residuals.
      const Intervals iv = intervals_of(held, o.interval_level, &h.model);
      const std::optional<LogInterval>* slots[kFigures] = {&iv.energy, &iv.power, &iv.tpot, &iv.throughput};
      for (size_t i = 0; i < h.rows.size(); ++i) {
        const Figures& r = h.log_residuals[i];
        const MeasuredServing& m = *h.rows[i]->row;
        detail.push_back({{"source", m.source}, {"gpu", gpu}, {"model", h.model}, {"task", m.task}, {"num_gpus", m.num_gpus},
                          {"batch_size", m.avg_batch_size}, {"output_len", m.avg_output_tokens},
                          {"energy_per_token", {m.energy_per_token_j, m.energy_per_token_j * std::exp(-r[0])}},
                          {"power", {m.power_w, m.power_w * std::exp(-r[1])}},
                          {"tpot", {m.time_s(), m.time_s() * std::exp(-r[2])}},
                          {"time_figure", m.time_is_itl() ? "itl_median" : "tpot"},
                          {"throughput", {m.throughput_tokens_per_s, m.throughput_tokens_per_s * std::exp(-r[3])}}});
        ++held_out_rows;
        for (int k = 0; k < kFigures; ++k)
          inside[k] += *slots[k] && r[k] >= (*slots[k])->low && r[k] <= (*slots[k])->high;
      }
    }
    for (int k = 0; k < kFigures; ++k) {
      out[kFigureNames[k]]["per_gpu"][gpu] = gpu_mean[k];
      average[k] += gpu_mean[k] / static_cast<double>(gpus.size());
    }
  }
  for (int k = 0; k < kFigures; ++k) out[kFigureNames[k]]["average"] = average[k];
  auto share = [&](int k) { return held_out_rows ? static_cast<double>(inside[k]) / held_out_rows : 0.0; };
  out["coverage"] = {{"level", o.interval_level},
                     {"observed", share(0)},
                     {"observed_power", share(1)},
                     {"observed_tpot", share(2)},
                     {"observed_throughput", share(3)},
                     {"held_out_rows", held_out_rows},
                     {"method", "cross-validation+: each held-out model's interval from the other models' "
                                "held-out residuals on its GPU, each model weighing the same: their median plus or minus "
                                "the level's quantile of their distances from it, with the conformal finite-sample "
                                "step for their effective number (Kish's, over the design effect of rows clustered "
                                "by model)"}};
  // Cross-GPU: calibrated on every row of one GPU, predicting another's rows.
  nlohmann::json cross = nlohmann::json::object();
  for (const std::string& from : gpus) {
    if (progress) progress(done++, total);
    const Calibration cal = fit(rows_of(cases, from), o);
    for (const std::string& to : gpus) {
      if (to == from) continue;
      const HeldOutModel r = held_out(to, "", rows_of(cases, to), cal);
      cross[from + " -> " + to] = {{"energy_per_token", r.mean_pct_error[0]},
                                   {"power", r.mean_pct_error[1]},
                                   {"tpot", r.mean_pct_error[2]},
                                   {"throughput", r.mean_pct_error[3]},
                                   {"rows", r.log_residuals.size()}};
    }
  }
  if (progress) progress(total, total);
  out["cross_gpu"] = cross;
  out["pick_regret"] = pick_regret(detail, {0.025, 0.05, 0.1});
  out["rows"] = std::move(detail);
  out["settings"] = {{"default_prompt_len", o.default_prompt_len},
                     {"default_run_requests", o.default_run_requests},
                     {"note", "prompt lengths are not published; the measured time per output token is compared "
                              "with the average over a run of default_run_requests requests sent at once, its "
                              "drain included, where the data gives the output cap"}};
  return out;
}

nlohmann::json pick_regret(const nlohmann::json& rows, const std::vector<double>& deadlines_s) {
  // The measured configurations of one model, task and GPU: the choices a user has.
  std::map<std::string, std::vector<const nlohmann::json*>> groups;
  for (const auto& r : rows)
    groups[r.value("gpu", "") + "|" + r.value("model", "") + "|" + r.value("task", "")].push_back(&r);
  nlohmann::json out = nlohmann::json::array();
  for (double deadline : deadlines_s) {
    std::vector<double> regrets;
    int misses = 0;  // picks whose measured time is over the deadline
    nlohmann::json per_group = nlohmann::json::object();
    for (const auto& [key, members] : groups) {
      const nlohmann::json *pick = nullptr, *best = nullptr;
      for (const nlohmann::json* r : members) {
        const double measured_t = (*r)["tpot"][0].get<double>(), predicted_t = (*r)["tpot"][1].get<double>();
        const double measured_e = (*r)["energy_per_token"][0].get<double>(), predicted_e = (*r)["energy_per_token"][1].get<double>();
        if (measured_t <= deadline && (!best || measured_e < (*best)["energy_per_token"][0].get<double>())) best = r;
        if (predicted_t <= deadline && (!pick || predicted_e < (*pick)["energy_per_token"][1].get<double>())) pick = r;
      }
      if (!best || !pick) continue;  // nothing measured (or predicted) meets this deadline
      const double pick_t = (*pick)["tpot"][0].get<double>();
      if (pick_t > deadline) {
        // A pick that in fact misses the deadline: a miss, not a saving.
        ++misses;
        per_group[key] = {{"over_deadline_by", pick_t / deadline - 1}, {"pick", (*pick)["source"]}, {"best", (*best)["source"]}};
        continue;
      }
      const double regret = (*pick)["energy_per_token"][0].get<double>() / (*best)["energy_per_token"][0].get<double>() - 1;
      regrets.push_back(regret);
      per_group[key] = {{"regret", regret}, {"pick", (*pick)["source"]}, {"best", (*best)["source"]}};
    }
    std::vector<double> sorted = regrets;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted.empty() ? 0
                          : sorted.size() % 2 ? sorted[sorted.size() / 2]
                                              : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
    double mean = 0;
    for (double r : regrets) mean += r / static_cast<double>(regrets.size());
    out.push_back({{"deadline_s", deadline},
                   {"groups", regrets.size()},
                   {"median_regret", sorted.empty() ? nlohmann::json(nullptr) : nlohmann::json(median)},
                   {"mean_regret", regrets.empty() ? nlohmann::json(nullptr) : nlohmann::json(mean)},
                   {"picks_over_deadline", misses},
                   {"per_group", per_group}});
  }
  return out;
}

Result<ServingPredictor> train(const std::vector<ServingCase>& cases, const MeasuredData& data,
                               const std::string& machine_id, const CalibrationOptions& o, const Progress& progress,
                               const std::string& engine_id, const std::vector<ServingPredictor>& calibrated) {
  std::string gpu;
  std::set<std::string> models, machines_seen, engines_seen;
  for (const auto& c : cases) {
    machines_seen.insert(c.machine.id);
    if (c.machine.id != machine_id) continue;
    engines_seen.insert(c.row->engine);
    if (!engine_id.empty() && c.row->engine != engine_id) continue;
    if (!gpu.empty() && data_group(*c.row) != gpu)
      return Status::invalid_argument("the data holds rows of machine '" + machine_id + "' under several engines (" +
                                      gpu + ", " + data_group(*c.row) + "): choose one with --engine");
    gpu = data_group(*c.row);
    models.insert(c.row->model);
  }
  if (gpu.empty()) {
    std::string seen;
    for (const auto& m : (engines_seen.empty() ? machines_seen : engines_seen)) seen += (seen.empty() ? "" : ", ") + m;
    std::string unknown;
    for (const auto& [name, why] : data.unknown_gpus) unknown += "; " + why;
    if (!engines_seen.empty())
      return Status::invalid_argument("the data has no rows of machine '" + machine_id + "' under engine '" +
                                      engine_id + "' (its engines there: " + seen + ")");
    return Status::invalid_argument("the data has no rows of machine '" + machine_id + "' (it has: " +
                                    (seen.empty() ? "none on a catalogued machine" : seen) + ")" + unknown);
  }
  const std::vector<const ServingCase*> rows = rows_of(cases, gpu);
  const engines::Engine& engine = rows.front()->workload->engine();
  ServingPredictor p;
  p.machine_id = machine_id;
  p.engine = engine.id;
  // One model's rows cannot tell the engine's own times and the kernels' apart: they fit
  // the machine's efficiencies and power, the rest carried from the engine's calibrations
  // (of other machines, or of this one on other models).
  std::vector<const ServingPredictor*> carried_from;
  for (const auto& c : calibrated)
    if (c.engine == engine.id) carried_from.push_back(&c);
  Calibration cal;
  if (models.size() == 1 && !carried_from.empty()) {
    cal = fit(rows, o, &engine.fitted_from_one_model, carried_params(carried_from));
    p.fitted = engine.fitted_from_one_model;
    for (const auto* c : carried_from) p.carried_from.push_back(c->machine_id);
  } else {
    cal = fit(rows, o);
    p.fitted = engine.fitted;
  }
  p.params = cal.params;
  const std::vector<HeldOutModel> held = leave_one_model_out(cases, gpu, o, progress);
  p.intervals = intervals_of(held, o.interval_level);
  if (!held.empty()) {
    Figures mean{};
    nlohmann::json per_model = nlohmann::json::object();
    for (const auto& h : held) {
      per_model[h.model] = h.mean_pct_error[0];
      for (int k = 0; k < kFigures; ++k) mean[k] += h.mean_pct_error[k] / static_cast<double>(held.size());
    }
    p.crossval = {{"energy_per_token", mean[0]}, {"power", mean[1]}, {"tpot", mean[2]}, {"throughput", mean[3]},
                  {"per_model_energy_per_token", per_model}, {"method", "leave one model out, mean percent error"}};
  }
  // The carried intervals: this calibration predicting the data's other GPUs from their spec sheets.
  std::vector<HeldOutModel> carried;
  nlohmann::json carried_error = nlohmann::json::object();
  for (const std::string& other : gpus_of(cases)) {
    if (other == gpu) continue;
    carried.push_back(held_out(other, "", rows_of(cases, other), cal));
    carried_error[other] = carried.back().mean_pct_error[0];
  }
  p.carried_intervals = intervals_of(carried, o.interval_level);
  if (!carried_error.empty() && p.crossval.is_object()) p.crossval["carried_energy_per_token"] = carried_error;
  p.data = {{"gpu", gpu},
            {"rows", rows.size()},
            {"models", std::vector<std::string>(models.begin(), models.end())},
            {"fingerprint", data.fingerprint},
            {"default_prompt_len", o.default_prompt_len},
            // The share of a prompt the prefix cache held in the data's conversation turns
            // (fitted; 0 where it has none the engine caches). Answers use the request's own.
            {"conversation_prompt_cached_share", cal.conversation_cached_share},
            {"default_run_requests", o.default_run_requests},
            {"max_evaluations", o.max_evaluations},
            {"restarts", o.restarts}};
  return p;
}

}  // namespace irene::serving
