#include "serving/predictor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/json_file.h"
#include "predict/bundled_predictors.h"

namespace irene::serving {

namespace {

constexpr const char* kFormat = "irene-serving-predictor";
constexpr int kVersion = 1;

// The parameters a file holds, by name; the defaults stand for absent ones.
struct ParamField {
  const char* name;
  double predict::RooflineParams::*field;
};
constexpr ParamField kParamFields[] = {
    {"gemm_efficiency", &predict::RooflineParams::gemm_efficiency},
    {"attention_efficiency", &predict::RooflineParams::attention_efficiency},
    {"other_compute_efficiency", &predict::RooflineParams::other_compute_efficiency},
    {"memory_efficiency", &predict::RooflineParams::memory_efficiency},
    {"kernel_overhead_s", &predict::RooflineParams::kernel_overhead_s},
    {"compute_power", &predict::RooflineParams::compute_power},
    {"memory_power", &predict::RooflineParams::memory_power},
    {"dequant_power", &predict::RooflineParams::dequant_power},  // absent in older files: 0
    {"step_overhead_s", &predict::RooflineParams::step_overhead_s},
    {"per_sequence_overhead_s", &predict::RooflineParams::per_sequence_overhead_s},
    {"per_logit_s", &predict::RooflineParams::per_logit_s},  // absent in older files: no sampler term
    {"host_wait_power", &predict::RooflineParams::host_wait_power},
    {"collective_wait_power", &predict::RooflineParams::collective_wait_power},  // absent: as host_wait_power
    {"all_reduce_latency_s", &predict::RooflineParams::all_reduce_latency_s},
    {"admission_overhead_s", &predict::RooflineParams::admission_overhead_s},
    {"kernel_gap_s", &predict::RooflineParams::kernel_gap_s},  // absent in older files: not fitted
    {"expert_parallel_latency_s", &predict::RooflineParams::expert_parallel_latency_s},
};

nlohmann::json params_json(const predict::RooflineParams& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : kParamFields)
    if (p.*f.field >= 0) j[f.name] = p.*f.field;  // a negative one was not fitted: absent
  return j;
}

Result<predict::RooflineParams> params_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return Status::corrupt(where + ": 'params' must be an object");
  predict::RooflineParams p;
  for (const auto& f : kParamFields) {
    if (!j.contains(f.name)) continue;
    if (!j[f.name].is_number() || !std::isfinite(j[f.name].get<double>()) || j[f.name].get<double>() < 0)
      return Status::corrupt(where + ": params." + f.name + " must be a number >= 0");
    p.*f.field = j[f.name].get<double>();
  }
  for (double e : {p.gemm_efficiency, p.attention_efficiency, p.other_compute_efficiency, p.memory_efficiency})
    if (e <= 0 || e > 1) return Status::corrupt(where + ": efficiencies must be in (0, 1]");
  p.calibrated = true;
  return p;
}

nlohmann::json interval_json(const std::optional<LogInterval>& i) {
  if (!i) return nullptr;
  return nlohmann::json::array({i->low, i->high});
}

nlohmann::json intervals_json(const Intervals& i) {
  return {{"level", i.level},
          {"energy_per_token", interval_json(i.energy)},
          {"power", interval_json(i.power)},
          {"tpot", interval_json(i.tpot)},
          {"throughput", interval_json(i.throughput)}};
}

Result<Intervals> intervals_from_json(const nlohmann::json& j, const std::string& where) {
  Intervals out;
  if (j.is_null()) return out;
  if (!j.is_object() || !j.contains("level") || !j["level"].is_number())
    return Status::corrupt(where + ": intervals need a numeric 'level'");
  out.level = j["level"].get<double>();
  auto one = [&](const char* name, std::optional<LogInterval>& slot) -> Status {
    if (!j.contains(name) || j[name].is_null()) return Status::ok();
    const auto& v = j[name];
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number() || v[0].get<double>() > v[1].get<double>())
      return Status::corrupt(where + ": intervals." + name + " must be [low, high] (log residuals)");
    slot = LogInterval{v[0].get<double>(), v[1].get<double>()};
    return Status::ok();
  };
  IRENE_RETURN_IF_ERROR(one("energy_per_token", out.energy));
  IRENE_RETURN_IF_ERROR(one("power", out.power));
  IRENE_RETURN_IF_ERROR(one("tpot", out.tpot));
  IRENE_RETURN_IF_ERROR(one("throughput", out.throughput));
  return out;
}

// The widest of two intervals (either may be missing).
std::optional<LogInterval> widest(const std::optional<LogInterval>& a, const std::optional<LogInterval>& b) {
  if (!a) return b;
  if (!b) return a;
  return LogInterval{std::min(a->low, b->low), std::max(a->high, b->high)};
}

// [value x e^low, value x e^high], or null.
nlohmann::json scaled(double value, const std::optional<LogInterval>& i) {
  if (!i) return nullptr;
  return nlohmann::json::array({value * std::exp(i->low), value * std::exp(i->high)});
}

}  // namespace

bool is_serving_predictor(const nlohmann::json& doc) {
  return doc.is_object() && doc.value("method", "") == "roofline";
}

nlohmann::json to_json(const ServingPredictor& p) {
  return {{"format", kFormat},
          {"version", kVersion},
          {"method", "roofline"},
          {"machine", p.machine_id},
          {"engine", p.engine},
          {"params", params_json(p.params)},
          {"fitted", p.fitted},
          {"carried_from", p.carried_from},
          {"intervals", intervals_json(p.intervals)},
          {"carried_intervals", intervals_json(p.carried_intervals)},
          {"crossval", p.crossval},
          {"data", p.data}};
}

Result<ServingPredictor> serving_predictor_from_json(const nlohmann::json& doc, const std::string& where) {
  if (!is_serving_predictor(doc)) return Status::corrupt(where + " is not a serving predictor (\"method\": \"roofline\")");
  if (doc.value("format", "") != kFormat || doc.value("version", 0) != kVersion)
    return Status::corrupt(where + ": format must be " + kFormat + " version " + std::to_string(kVersion));
  if (!doc.contains("machine") || !doc["machine"].is_string() || doc["machine"].get<std::string>().empty())
    return Status::corrupt(where + ": no 'machine' (the id of the machine it was fitted on)");
  ServingPredictor p;
  p.machine_id = doc["machine"].get<std::string>();
  if (doc.contains("engine")) {
    if (!doc["engine"].is_string()) return Status::corrupt(where + ": 'engine' must be an engine's id");
    auto engine = engines::find_engine(doc["engine"].get<std::string>());
    if (!engine.is_ok()) return Status::corrupt(where + ": " + engine.status().message());
    p.engine = engine->id;
  }
  for (const char* list : {"fitted", "carried_from"}) {
    if (!doc.contains(list) || doc[list].is_null()) continue;
    if (!doc[list].is_array()) return Status::corrupt(where + ": '" + list + "' must be a list of names");
    for (const auto& v : doc[list]) {
      if (!v.is_string()) return Status::corrupt(where + ": '" + list + "' must be a list of names");
      (std::string(list) == "fitted" ? p.fitted : p.carried_from).push_back(v.get<std::string>());
    }
  }
  IRENE_ASSIGN_OR_RETURN(p.params, params_from_json(doc.value("params", nlohmann::json()), where));
  IRENE_ASSIGN_OR_RETURN(p.intervals, intervals_from_json(doc.value("intervals", nlohmann::json()), where));
  IRENE_ASSIGN_OR_RETURN(p.carried_intervals, intervals_from_json(doc.value("carried_intervals", nlohmann::json()), where));
  p.crossval = doc.value("crossval", nlohmann::json());
  p.data = doc.value("data", nlohmann::json());
  return p;
}

Result<ServingPredictor> load_serving_predictor(const std::string& path) {
  IRENE_ASSIGN_OR_RETURN(nlohmann::json doc, read_json_file(path, "serving predictor"));
  return serving_predictor_from_json(doc, path);
}

Status save_serving_predictor(const ServingPredictor& p, const std::string& path) {
  return write_json_file(to_json(p), path);
}

const std::vector<ServingPredictor>& shipped_serving_predictors() {
  static const std::vector<ServingPredictor> shipped = [] {
    std::vector<ServingPredictor> out;
    for (const auto& f : predict::bundled_predictors()) {
      auto doc = nlohmann::json::parse(f.text, nullptr, false);
      if (!is_serving_predictor(doc)) continue;
      auto p = serving_predictor_from_json(doc, std::string(f.name));
      if (p.is_ok()) out.push_back(std::move(*p));  // a broken shipped file fails its test (predictor_test)
    }
    return out;
  }();
  return shipped;
}

predict::RooflineParams carried_params(const std::vector<const ServingPredictor*>& from) {
  predict::RooflineParams out;
  if (from.empty()) return out;
  const double n = static_cast<double>(from.size());
  for (const auto& f : kParamFields) {
    double log_sum = 0;
    bool fitted = true;  // by every one of them
    for (const ServingPredictor* p : from) {
      log_sum += std::log(std::max(p->params.*f.field, 1e-12));
      fitted = fitted && p->params.*f.field >= 0;
    }
    out.*f.field = fitted ? std::exp(log_sum / n) : predict::RooflineParams{}.*f.field;
  }
  out.calibrated = true;
  return out;
}

std::string default_engine(const machines::MachineSpec& m, const std::vector<ServingPredictor>& available) {
  const auto& engines = engines::engine_catalogue();
  for (auto e = engines.rbegin(); e != engines.rend(); ++e)
    for (const auto& p : available)
      if (p.engine == e->id && p.machine_id == m.id) return e->id;
  for (auto e = engines.rbegin(); e != engines.rend(); ++e)
    for (const auto& p : available)
      if (p.engine == e->id) return e->id;
  return engines.back().id;
}

Result<MachinePredictor> predictor_for(const machines::MachineSpec& m, const std::vector<ServingPredictor>& available,
                                       const ServingPredictor* chosen, const std::string& engine) {
  auto calibrated = [&](const ServingPredictor& p) {
    MachinePredictor out{p.params, p.intervals, true, "", p.crossval};
    char line[320];
    const double err = p.crossval.is_object() ? p.crossval.value("energy_per_token", -1.0) : -1.0;
    const std::string on = "calibrated on measured serving data of this machine under " + p.engine;
    if (err >= 0)
      std::snprintf(line, sizeof line, "%s (%d rows); leave-one-model-out error of energy per token %.1f %%", on.c_str(),
                    p.data.is_object() ? p.data.value("rows", 0) : 0, err);
    else
      std::snprintf(line, sizeof line, "%s", on.c_str());
    out.basis = line;
    if (!p.carried_from.empty()) {
      std::string from;
      for (const auto& f : p.carried_from) from += (from.empty() ? "" : ", ") + f;
      out.basis += "; the engine parameters one model cannot identify carried from " + from;
    }
    return out;
  };
  if (chosen) {
    if (chosen->engine != engine)
      return Status::invalid_argument("the predictor was fitted on " + chosen->engine + " measurements, not " + engine +
                                      "; ask for --engine " + chosen->engine + " or give a predictor of " + engine);
    if (chosen->machine_id == m.id) return calibrated(*chosen);
    // A predictor made on another machine: carried over to this one's spec sheet.
    MachinePredictor out{chosen->params, chosen->carried_intervals, false,
                         "from the spec sheet, with " + engine + " parameters carried over from " + chosen->machine_id,
                         nullptr};
    return out;
  }
  std::vector<const ServingPredictor*> of_engine;
  for (const auto& p : available)
    if (p.engine == engine) {
      if (p.machine_id == m.id) return calibrated(p);
      of_engine.push_back(&p);
    }
  if (of_engine.empty()) {
    MachinePredictor out{predict::RooflineParams{}, Intervals{}, false,
                         "from the spec sheet alone, with uncalibrated first-guess parameters (no calibration of " +
                             engine + " on any machine); no interval",
                         nullptr};
    return out;
  }
  MachinePredictor out;
  out.params = carried_params(of_engine);
  std::string from;
  out.intervals = of_engine.front()->carried_intervals;
  for (const ServingPredictor* p : of_engine) {
    out.intervals.energy = widest(out.intervals.energy, p->carried_intervals.energy);
    out.intervals.power = widest(out.intervals.power, p->carried_intervals.power);
    out.intervals.tpot = widest(out.intervals.tpot, p->carried_intervals.tpot);
    out.intervals.throughput = widest(out.intervals.throughput, p->carried_intervals.throughput);
    from += (from.empty() ? "" : ", ") + p->machine_id;
  }
  out.basis = "from the spec sheet alone (no measurements of this machine), with " + engine +
              " parameters carried over from " + from;
  if (!out.intervals.energy) {
    // The engine's data held one GPU, so no cross-GPU residuals of its own: the widest
    // carried intervals of the other engines' calibrations stand in, and the basis says so.
    std::string engines_used;
    for (const auto& p : available) {
      if (!p.carried_intervals.energy) continue;
      out.intervals.energy = widest(out.intervals.energy, p.carried_intervals.energy);
      out.intervals.power = widest(out.intervals.power, p.carried_intervals.power);
      out.intervals.tpot = widest(out.intervals.tpot, p.carried_intervals.tpot);
      out.intervals.throughput = widest(out.intervals.throughput, p.carried_intervals.throughput);
      if (engines_used.find(p.engine) == std::string::npos) engines_used += (engines_used.empty() ? "" : ", ") + p.engine;
    }
    if (!engines_used.empty())
      out.basis += "; intervals from the cross-GPU residuals of " + engines_used +
                   " (no other GPU in this engine's data)";
  }
  return out;
}

nlohmann::json serving_answer(const models::ModelConfig& config, const machines::MachineSpec& machine,
                              const ServingConfig& s, const ServingEstimate& e, const MachinePredictor& p) {
  const Intervals& i = p.intervals;
  nlohmann::json answer = {{"model", config.name},
                           {"machine", machine.id},
                           {"engine", e.engine},
                           {"machine_name", machine.name},
                           {"num_gpus", s.num_gpus},
                           {"pipeline_parallel", s.pipeline_parallel},
                           {"batch_size", s.batch_size},
                           {"prompt_len", s.prompt_len},
                           {"output_len", s.output_len},
                           {"tensor_parallel", s.num_gpus / s.pipeline_parallel / s.data_parallel},
                           {"data_parallel", s.data_parallel},
                           {"expert_parallel", s.expert_parallel},
                           {"energy_per_output_token_j", e.energy_per_output_token_j},
                           {"energy_per_request_j", e.energy_per_request_j},
                           {"power_w", e.power_w},
                           {"tpot_s", e.tpot_s},
                           {"throughput_tokens_per_s", e.throughput_tokens_per_s},
                           {"prefill_share", e.prefill_share},
                           {"prompt_cached_share", e.prompt_cached_share},
                           {"time_split_s",
                            {{"decode_kernels", e.time_split.decode_kernels_s},
                             {"decode_engine", e.time_split.decode_engine_s},
                             {"prefill", e.time_split.prefill_s},
                             {"admission", e.time_split.admission_s},
                             {"host_wait", e.time_split.host_wait_s},
                             {"sampler", e.time_split.sampler_s}}},
                           {"intervals",
                            {{"level", i.level},
                             {"energy_per_output_token_j", scaled(e.energy_per_output_token_j, i.energy)},
                             {"energy_per_request_j", scaled(e.energy_per_request_j, i.energy)},
                             {"power_w", scaled(e.power_w, i.power)},
                             {"tpot_s", scaled(e.tpot_s, i.tpot)},
                             {"throughput_tokens_per_s", scaled(e.throughput_tokens_per_s, i.throughput)}}},
                           {"calibrated", p.calibrated},
                           {"spec_only", !p.calibrated},
                           {"basis", p.basis},
                           {"crossval_error_pct", p.crossval}};
  // Engines with chunked prefill: the latency users see, the calibrated time figure being
  // the median inter-token latency (no measured p90 or TTFT gave residuals for an interval).
  const bool chunked = e.itl_median_s.has_value();
  auto optional = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  answer["itl_median_s"] = optional(e.itl_median_s);
  answer["itl_p90_s"] = optional(e.itl_p90_s);
  answer["ttft_s"] = optional(e.ttft_s);
  answer["intervals"]["itl_median_s"] = chunked ? scaled(*e.itl_median_s, i.tpot) : nlohmann::json(nullptr);
  answer["intervals"]["itl_p90_s"] = nullptr;
  answer["intervals"]["ttft_s"] = nullptr;
  if (chunked) answer["intervals"]["tpot_s"] = nullptr;
  // Asked for a closed benchmark run: its time per output token, the drain included (the
  // figure the intervals of tpot were calibrated on, where the data gave the run).
  if (e.run_tpot_s) {
    answer["run"] = {{"requests", s.run_requests}, {"max_output_len", s.max_output_len}, {"tpot_s", *e.run_tpot_s}};
    answer["intervals"]["run_tpot_s"] = scaled(*e.run_tpot_s, i.tpot);
  }
  return answer;
}

}  // namespace irene::serving
