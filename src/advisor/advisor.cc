#include "advisor/advisor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <tuple>

#include "common/parallel.h"
#include "engines/engine.h"
#include "serving/memory.h"

namespace irene::advisor {

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// The GPUs an engine runs on (its documented minimum compute capability).
Status engine_runs_on(const engines::Engine& e, const machines::MachineSpec& m) {
  if (e.min_compute_capability <= 0) return Status::ok();
  if (!m.compute_capability)
    return Status::invalid_argument(e.id + " needs compute capability " + fmt("%.1f", e.min_compute_capability) +
                                    " and " + m.id + "'s spec does not give one");
  if (*m.compute_capability < e.min_compute_capability)
    return Status::invalid_argument(e.id + " needs compute capability " + fmt("%.1f", e.min_compute_capability) +
                                    "; " + m.id + " (" + m.architecture + ") has " +
                                    fmt("%.1f", *m.compute_capability));
  return Status::ok();
}

// Bits per stored weight of the checkpoint's quantised layers; 16 when it has none.
double stored_bits(const models::ModelConfig& c) {
  double bits = 16;
  for (const auto& g : c.decoder.quantization.groups)
    if (g.format.quantized()) bits = std::min(bits, g.format.bits);
  return bits;
}

// The weight formats tried on `m` when the request names none: as stored, then the
// narrower formats the GPU computes in natively (FP8 from Hopper and Ada, FP4 from
// Blackwell), never a wider one than the checkpoint's.
std::vector<std::string> formats_for(const models::ModelConfig& c, const machines::MachineSpec& m,
                                     const Request& r) {
  if (!r.quantizations.empty()) return r.quantizations;
  std::vector<std::string> out{""};
  const double bits = stored_bits(c);
  if (m.peak_flops.count("fp8") && bits > 8) out.push_back("fp8");
  if (m.peak_flops.count("fp4") && bits > 4.5) out.push_back("nvfp4");
  return out;
}

struct Layout {
  int tp, pp, dp;
  bool ep;
};

std::vector<int> divisors(int n) {
  std::vector<int> d;
  for (int i = 1; i <= n; ++i)
    if (n % i == 0) d.push_back(i);
  return d;
}

// The layouts of `gpus` GPUs the engine runs: pipeline stages of tensor-parallel groups;
// under chunked-prefill engines also tensor parallel within each data-parallel replica,
// experts spread whole over all GPUs or split (MoE). Tensor parallelism splits the
// attention heads, which must divide evenly (vLLM refuses otherwise).
std::vector<Layout> layouts(int gpus, const engines::Engine& e, const models::ModelConfig& c) {
  const bool moe = c.decoder.num_experts > 0;
  const int64_t heads = std::max<int64_t>(1, c.num_heads);
  std::vector<Layout> out;
  for (int split : divisors(gpus)) {
    const int tp = gpus / split;
    if (heads % tp != 0) continue;
    if (e.chunked_prefill) {
      out.push_back({tp, 1, split, false});
      if (moe && gpus > 1) out.push_back({tp, 1, split, true});
      if (split > 1) out.push_back({tp, split, 1, false});
    } else {
      out.push_back({tp, split, 1, false});
    }
  }
  return out;
}

std::vector<int> gpu_counts(int max_gpus) {
  std::vector<int> out;
  for (int g = 1; g <= max_gpus; g *= 2) out.push_back(g);
  if (out.back() != max_gpus) out.push_back(max_gpus);
  return out;
}

std::string layout_text(const Candidate& c) {
  std::string s;
  if (c.pipeline_parallel > 1) s += "PP " + std::to_string(c.pipeline_parallel) + " x ";
  s += "TP " + std::to_string(c.tensor_parallel);
  if (c.data_parallel > 1) s += " x DP " + std::to_string(c.data_parallel);
  if (c.expert_parallel) s += ", EP";
  return s;
}

std::string format_text(const std::string& q) { return q.empty() ? "weights as stored" : q + " weights"; }

double pct_less(double a, double b) { return b > 0 ? 100 * (1 - a / b) : 0; }

// What separates the best from the runner-up, in figures.
std::string difference(const Candidate& a, const Candidate& b) {
  std::vector<std::string> parts;
  if (a.machine_id != b.machine_id) parts.push_back(a.machine_id + " rather than " + b.machine_id);
  if (a.num_gpus != b.num_gpus || layout_text(a) != layout_text(b))
    parts.push_back(std::to_string(a.num_gpus) + " GPUs (" + layout_text(a) + ") rather than " +
                    std::to_string(b.num_gpus) + " (" + layout_text(b) + ")");
  if (a.quantization != b.quantization) {
    const double wa = a.weights_bytes / a.num_gpus, wb = b.weights_bytes / b.num_gpus;
    parts.push_back(format_text(a.quantization) + " rather than " + format_text(b.quantization) + ": " +
                    fmt("%.1f", wa / 1e9) + " GB of weights a GPU streams each step against " + fmt("%.1f", wb / 1e9) +
                    " GB (" + fmt("%.0f", std::abs(pct_less(wa, wb))) + (wa <= wb ? " % fewer" : " % more") +
                    " bytes)");
  }
  if (a.kv_cache_dtype != b.kv_cache_dtype)
    parts.push_back("KV cache " + (a.kv_cache_dtype.empty() ? std::string("in the run's dtype") : a.kv_cache_dtype) +
                    " rather than " + (b.kv_cache_dtype.empty() ? std::string("the run's dtype") : b.kv_cache_dtype));
  if (a.engine != b.engine) parts.push_back(a.engine + " rather than " + b.engine);
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "; " : "") + parts[i];
  const auto& ea = a.estimate;
  const auto& eb = b.estimate;
  s += ": " + fmt("%.0f", pct_less(ea.energy_per_output_token_j, eb.energy_per_output_token_j)) +
       " % less energy per output token (" + fmt("%.4g", ea.energy_per_output_token_j) + " J at batch " +
       std::to_string(a.batch) + " against " + fmt("%.4g", eb.energy_per_output_token_j) + " J at batch " +
       std::to_string(b.batch) + "), ITL " + fmt("%.1f", 1e3 * a.itl_s()) + " ms against " +
       fmt("%.1f", 1e3 * b.itl_s()) + " ms, " + fmt("%.0f", a.throughput_per_gpu()) + " against " +
       fmt("%.0f", b.throughput_per_gpu()) + " tokens/s per GPU";
  return s;
}

Status check(const Request& r) {
  if (r.prompt_len < 1 || r.output_len < 1)
    return Status::invalid_argument("prompt and output lengths must be at least 1 token");
  if (!(r.prompt_cached_share >= 0 && r.prompt_cached_share < 1))
    return Status::invalid_argument("the prompt's cached share must be from 0 to below 1, got " +
                                    std::to_string(r.prompt_cached_share));
  if (r.max_gpus < 1 || r.max_gpus > 64)
    return Status::invalid_argument("max GPUs must be 1 to 64, got " + std::to_string(r.max_gpus));
  if ((r.slo.itl_s && !(*r.slo.itl_s > 0)) || (r.slo.ttft_s && !(*r.slo.ttft_s > 0)))
    return Status::invalid_argument("latency objectives must be positive");
  for (int64_t b : r.batches)
    if (b < 1 || b > 4096) return Status::invalid_argument("batches must be 1 to 4096, got " + std::to_string(b));
  return Status::ok();
}

// One (machine, engine, weight format, KV format): its traced workload, priced on the
// machine at every GPU count, layout and batch.
struct Unit {
  const machines::MachineSpec* machine;
  engines::Engine engine;
  serving::MachinePredictor predictor;
  std::string quantization, kv;
};

// A traced workload of one (engine, weight format, KV format), the memory it needs, and
// the workload at each batch of the grid (engines with chunked prefill).
struct Traced {
  const engines::Engine* engine = nullptr;
  std::optional<serving::ServingWorkload> workload;
  std::map<int64_t, serving::ServingWorkload> at_batch;
  serving::MemoryFit needs;
  std::string error;
};

// What one unit's search found.
struct Priced {
  std::vector<Candidate> candidates;
  int64_t searched = 0;
  std::string excluded, needs;
  int needs_gpus = 0;
};

double slo_ratio(const Candidate& c, const Slo& slo) {
  double ratio = 0;
  if (slo.itl_s) ratio = std::max(ratio, c.itl_s() / *slo.itl_s);
  if (slo.ttft_s)
    ratio = std::max(ratio, c.estimate.ttft_s ? *c.estimate.ttft_s / *slo.ttft_s : std::numeric_limits<double>::infinity());
  return ratio;
}

Priced price(const models::ModelConfig& config, const Request& request, const Unit& unit, const Traced& t,
             const std::vector<int64_t>& grid, const std::vector<int>& counts) {
  Priced out;
  const machines::MachineSpec& m = *unit.machine;
  if (!t.workload) {
    out.excluded = unit.engine.id + " with " + format_text(unit.quantization) + ": " + t.error;
    return out;
  }
  const double util = unit.engine.gpu_memory_utilization;
  const int64_t budget =
      unit.engine.chunked_prefill ? unit.engine.max_num_batched_tokens : std::numeric_limits<int64_t>::max();
  std::map<std::string, std::optional<serving::ServingWorkload>> legacy;  // engines without chunked prefill
  for (int gpus : counts) {
    for (const Layout& l : layouts(gpus, unit.engine, config)) {
      const serving::MemoryFit fit = serving::refit(t.needs, m, gpus, l.dp, util);
      std::vector<int64_t> batches = grid;
      // The largest batch the cache holds is a setup of its own (vLLM --max-num-seqs at it).
      if (fit.max_batch >= 1 && fit.max_batch < grid.back() &&
          std::find(grid.begin(), grid.end(), fit.max_batch) == grid.end())
        batches.push_back(fit.max_batch);
      for (int64_t b : batches) {
        if (b >= budget) continue;
        ++out.searched;
        if (b > fit.max_batch || b < l.pp) continue;
        Candidate c;
        c.machine_id = m.id;
        c.engine = unit.engine.id;
        c.quantization = unit.quantization;
        c.kv_cache_dtype = unit.kv;
        c.num_gpus = gpus;
        c.tensor_parallel = l.tp;
        c.pipeline_parallel = l.pp;
        c.data_parallel = l.dp;
        c.expert_parallel = l.ep;
        c.batch = b;
        c.calibrated = unit.predictor.calibrated;
        c.weights_bytes = fit.weights_bytes;
        const serving::ServingWorkload* w = nullptr;
        std::optional<serving::ServingWorkload> resized;
        if (unit.engine.chunked_prefill) {
          // From the workload at one microbatch's batch (its prompts placed), to the layout.
          auto at = b % l.pp == 0 ? t.at_batch.find(b / l.pp) : t.at_batch.end();
          Result<serving::ServingWorkload> r = at != t.at_batch.end()
                                                   ? at->second.resized(b, gpus, l.dp, l.ep, l.pp)
                                                   : t.workload->resized(b, gpus, l.dp, l.ep, l.pp);
          if (!r.is_ok()) continue;
          resized = std::move(r).value();
          w = &*resized;
        } else {
          // Traced anew for each batch and layout.
          const std::string key = std::to_string(b) + "|" + std::to_string(gpus) + "|" + std::to_string(l.pp);
          auto found = legacy.find(key);
          if (found == legacy.end()) {
            Result<serving::ServingWorkload> r = serving::ServingWorkload::build(config, serving_config(c, request));
            found = legacy.emplace(key, r.is_ok() ? std::optional(std::move(r).value()) : std::nullopt).first;
          }
          if (!found->second) continue;
          w = &*found->second;
        }
        Result<serving::ServingEstimate> e = w->estimate(m, unit.predictor.params);
        if (!e.is_ok()) continue;
        c.estimate = *e;
        c.slo_ratio = slo_ratio(c, request.slo);
        c.meets_slo = c.slo_ratio <= 1;
        out.candidates.push_back(std::move(c));
      }
    }
  }
  if (out.candidates.empty()) {
    const int g = serving::fewest_gpus(t.needs, m, util, 1);
    out.needs_gpus = g;
    out.needs = m.id + " with " + format_text(unit.quantization) + ": the weights (" +
                fmt("%.1f", (t.needs.dense_weights_bytes + t.needs.expert_weights_bytes) / 1e9) + " GB) need " +
                (g ? std::to_string(g) : std::string("more than 1024")) + " GPUs";
  }
  return out;
}

}  // namespace

const std::vector<Task>& standard_tasks() {
  static const std::vector<Task> tasks{
      {"chat", 634, 700,
       "ML.ENERGY v3 (vLLM 0.11.1), lm-arena-chat: mean prompt 634 tokens (the v3 write-up), mean output about "
       "600-800 tokens (../shared/data/mlenergy-v3/README.md)"},
      {"reasoning", 300, 3000,
       "ML.ENERGY v3, gpqa with reasoning on: prompts of a few hundred tokens, mean output 3,060 tokens over its 48 "
       "H100 rows (../shared/data/mlenergy-v3)"},
      {"code", 150, 110,
       "ML.ENERGY v2, code (HumanEval+): prompts of about 100-150 tokens, mean output 108 tokens over its 123 rows "
       "(../shared/data/mlenergy/README.md)"},
  };
  return tasks;
}

Result<Task> find_task(const std::string& id) {
  std::string known;
  for (const Task& t : standard_tasks()) {
    if (t.id == id) return t;
    known += (known.empty() ? "" : ", ") + t.id;
  }
  return Status::not_found("unknown task '" + id + "' (known: " + known + ")");
}

std::vector<int64_t> default_batches() {
  std::vector<int64_t> out{1, 2, 3};
  for (int64_t p = 4; p < 4096; p *= 2)
    for (int64_t q : {4, 5, 6, 7}) out.push_back(p * q / 4);
  out.push_back(4096);
  return out;
}

std::string Candidate::describe() const {
  return std::to_string(num_gpus) + " x " + machine_id + " (" + layout_text(*this) + "), " + format_text(quantization) +
         (kv_cache_dtype.empty() ? "" : ", KV cache " + kv_cache_dtype) + ", batch " + std::to_string(batch) + ", " +
         engine;
}

bool Candidate::same_setup(const Candidate& o) const {
  return std::tie(machine_id, engine, quantization, kv_cache_dtype, num_gpus, tensor_parallel, pipeline_parallel,
                  data_parallel, expert_parallel) == std::tie(o.machine_id, o.engine, o.quantization, o.kv_cache_dtype,
                                                              o.num_gpus, o.tensor_parallel, o.pipeline_parallel,
                                                              o.data_parallel, o.expert_parallel);
}

serving::ServingConfig serving_config(const Candidate& c, const Request& r) {
  serving::ServingConfig s;
  s.batch_size = c.batch;
  s.prompt_len = r.prompt_len;
  s.output_len = r.output_len;
  s.prompt_cached_share = r.prompt_cached_share;
  s.num_gpus = c.num_gpus;
  s.pipeline_parallel = c.pipeline_parallel;
  s.data_parallel = c.data_parallel;
  s.expert_parallel = c.expert_parallel;
  s.engine = c.engine;
  s.quantization = c.quantization;
  s.kv_cache_dtype = c.kv_cache_dtype;
  s.size_limits = r.size_limits;
  return s;
}

Footprint per_million_tokens(double energy_per_token_j, double usd_per_kwh, double grams_per_kwh) {
  Footprint f;
  f.kwh = energy_per_token_j * 1e6 / 3.6e6;
  f.cost_usd = f.kwh * usd_per_kwh;
  f.co2_g = f.kwh * grams_per_kwh;
  return f;
}

Result<Advice> advise(const models::ModelConfig& config, const Request& request,
                      const std::vector<serving::ServingPredictor>& available, const Progress& progress) {
  IRENE_RETURN_IF_ERROR(check(request));
  if (!config.is_decoder())
    return Status::invalid_argument("the advisor serves decoder LLMs; " + config.name + " (" + config.model_type +
                                    ") is not one");
  std::vector<machines::MachineSpec> machines;
  if (request.machines.empty()) {
    for (const machines::MachineSpec& m : machines::catalogue())
      if (m.kind == "gpu") machines.push_back(m);
  } else {
    for (const std::string& id : request.machines) {
      IRENE_ASSIGN_OR_RETURN(machines::MachineSpec m, machines::find_machine(id));
      if (m.kind != "gpu") return Status::invalid_argument("machine '" + id + "' is not a GPU; the advisor serves on GPUs");
      machines.push_back(std::move(m));
    }
  }
  Advice a;
  std::vector<Unit> units;
  for (const machines::MachineSpec& m : machines) {
    if (!m.memory_bytes) {
      a.excluded.push_back(m.id + ": its spec gives no memory size");
      continue;
    }
    // One engine for every machine unless asked: the newest, so that machines compare
    // under the same engine (a machine not calibrated under it says so in its basis).
    std::vector<std::string> engine_ids = request.engines;
    if (engine_ids.empty()) engine_ids.push_back(engines::engine_catalogue().back().id);
    for (const std::string& id : engine_ids) {
      IRENE_ASSIGN_OR_RETURN(engines::Engine e, engines::find_engine(id));
      if (Status runs = engine_runs_on(e, m); !runs.is_ok()) {
        a.excluded.push_back(m.id + ": " + runs.message());
        continue;
      }
      IRENE_ASSIGN_OR_RETURN(serving::MachinePredictor p, serving::predictor_for(m, available, nullptr, e.id));
      for (const std::string& q : formats_for(config, m, request))
        for (const std::string& kv :
             request.kv_cache_dtypes.empty() ? std::vector<std::string>{""} : request.kv_cache_dtypes)
          units.push_back({&m, e, p, q, kv});
    }
  }
  const std::vector<int64_t> grid = request.batches.empty() ? default_batches() : request.batches;
  const std::vector<int> counts = gpu_counts(request.max_gpus);

  // A traced workload and the memory it needs, per (engine, formats): the machine only
  // prices them. Traced in parallel (each trace records on its own thread), with the
  // workload resized to every batch of the grid once (placing its prompts there).
  std::map<std::tuple<std::string, std::string, std::string>, Traced> traced;
  std::vector<std::pair<const Unit*, Traced*>> to_trace;
  for (const Unit& unit : units) {
    auto [it, fresh] = traced.try_emplace(std::make_tuple(unit.engine.id, unit.quantization, unit.kv));
    if (fresh) to_trace.emplace_back(&unit, &it->second);
  }
  parallel_for(to_trace.size(), [&](size_t i) {
    const Unit& unit = *to_trace[i].first;
    Traced& t = *to_trace[i].second;
    t.engine = &unit.engine;
    Candidate probe;
    probe.engine = unit.engine.id;
    probe.quantization = unit.quantization;
    probe.kv_cache_dtype = unit.kv;
    const serving::ServingConfig s = serving_config(probe, request);
    Result<serving::ServingWorkload> w = serving::ServingWorkload::build(config, s);
    // The memory's figures off the workload's own trace (engines that lower a step).
    Result<serving::MemoryFit> needs =
        w.is_ok() ? serving::memory_fit(*w, config, *unit.machine) : Result<serving::MemoryFit>(w.status());
    if (!needs.is_ok()) {
      t.error = needs.status().message();
      return;
    }
    t.workload = std::move(w).value();
    t.needs = *needs;
    if (unit.engine.chunked_prefill)
      for (int64_t b : grid)
        if (Result<serving::ServingWorkload> r = t.workload->resized(b, 1, 1, false); r.is_ok())
          t.at_batch.emplace(b, std::move(r).value());
  });

  // Each unit priced on its own, in parallel; gathered in the units' order.
  std::vector<Priced> priced(units.size());
  size_t done = 0;
  std::atomic<bool> stopped{false};
  std::mutex progress_mutex;
  if (progress && !progress(0, units.size())) return Status::cancelled("the search was cancelled");
  parallel_for(units.size(), [&](size_t u) {
    if (stopped) return;
    priced[u] = price(config, request, units[u], traced.at(std::make_tuple(units[u].engine.id, units[u].quantization,
                                                                         units[u].kv)),
                      grid, counts);
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      if (!progress(++done, units.size())) stopped = true;
    }
  });
  if (stopped) return Status::cancelled("the search was cancelled after " + std::to_string(done) + " of " +
                                        std::to_string(units.size()) + " parts");
  std::string needs_note;
  int needs_gpus = 0;
  for (Priced& p : priced) {
    a.searched += p.searched;
    for (Candidate& c : p.candidates) a.candidates.push_back(std::move(c));
    if (!p.excluded.empty() && std::find(a.excluded.begin(), a.excluded.end(), p.excluded) == a.excluded.end())
      a.excluded.push_back(p.excluded);
    // The machine needing the fewest GPUs to hold the weights speaks for all.
    if (!p.needs.empty() && (needs_note.empty() || (p.needs_gpus > 0 && (needs_gpus == 0 || p.needs_gpus < needs_gpus)))) {
      needs_note = p.needs;
      needs_gpus = p.needs_gpus;
    }
  }
  a.fitting = static_cast<int64_t>(a.candidates.size());
  const std::vector<Candidate>& cs = a.candidates;
  auto better = [&](size_t i, size_t j) {  // less energy, then lower ITL
    if (cs[i].estimate.energy_per_output_token_j != cs[j].estimate.energy_per_output_token_j)
      return cs[i].estimate.energy_per_output_token_j < cs[j].estimate.energy_per_output_token_j;
    return cs[i].itl_s() < cs[j].itl_s();
  };
  for (size_t i = 0; i < cs.size(); ++i) {
    if (!cs[i].meets_slo) continue;
    ++a.meeting;
    if (!a.best || better(i, *a.best)) a.best = i;
  }
  if (a.best) {
    // The runner-up differs in what a deployment decides first (the machine, how many of
    // its GPUs, the weight format); failing any such, in any other way.
    const Candidate& b = cs[*a.best];
    auto apart = [&](const Candidate& c) {
      return c.machine_id != b.machine_id || c.num_gpus != b.num_gpus || c.quantization != b.quantization;
    };
    for (bool strict : {true, false}) {
      for (size_t i = 0; i < cs.size(); ++i)
        if (cs[i].meets_slo && !cs[i].same_setup(b) && (!strict || apart(cs[i])) &&
            (!a.runner_up || better(i, *a.runner_up)))
          a.runner_up = i;
      if (a.runner_up) break;
    }
    if (a.runner_up) a.why = difference(cs[*a.best], cs[*a.runner_up]);
  } else {
    for (size_t i = 0; i < cs.size(); ++i)
      if (!a.closest_miss || cs[i].slo_ratio < cs[*a.closest_miss].slo_ratio ||
          (cs[i].slo_ratio == cs[*a.closest_miss].slo_ratio && better(i, *a.closest_miss)))
        a.closest_miss = i;
  }
  // Pareto frontiers over every fitting setup.
  std::vector<size_t> order(cs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    return cs[i].itl_s() != cs[j].itl_s() ? cs[i].itl_s() < cs[j].itl_s() : better(i, j);
  });
  double least = std::numeric_limits<double>::infinity();
  for (size_t i : order)
    if (cs[i].estimate.energy_per_output_token_j < least) {
      least = cs[i].estimate.energy_per_output_token_j;
      a.frontier_itl.push_back(i);
    }
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) {
    return cs[i].throughput_per_gpu() != cs[j].throughput_per_gpu() ? cs[i].throughput_per_gpu() > cs[j].throughput_per_gpu()
                                                                    : better(i, j);
  });
  least = std::numeric_limits<double>::infinity();
  for (size_t i : order)
    if (cs[i].estimate.energy_per_output_token_j < least) {
      least = cs[i].estimate.energy_per_output_token_j;
      a.frontier_throughput.push_back(i);
    }
  if (cs.empty()) a.needs = needs_note;
  return a;
}

nlohmann::json to_json(const Candidate& c) {
  const serving::ServingEstimate& e = c.estimate;
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  const Footprint f = per_million_tokens(e.energy_per_output_token_j);
  return {{"machine", c.machine_id},
          {"engine", c.engine},
          {"num_gpus", c.num_gpus},
          {"tensor_parallel", c.tensor_parallel},
          {"pipeline_parallel", c.pipeline_parallel},
          {"data_parallel", c.data_parallel},
          {"expert_parallel", c.expert_parallel},
          {"batch_size", c.batch},
          {"quantization", c.quantization},
          {"kv_cache_dtype", c.kv_cache_dtype},
          {"calibrated", c.calibrated},
          {"weights_bytes", c.weights_bytes},
          {"setup", c.describe()},
          {"energy_per_output_token_j", e.energy_per_output_token_j},
          {"energy_per_request_j", e.energy_per_request_j},
          {"power_w", e.power_w},
          {"throughput_tokens_per_s", e.throughput_tokens_per_s},
          {"throughput_per_gpu", c.throughput_per_gpu()},
          {"itl_median_s", opt(e.itl_median_s)},
          {"itl_p90_s", opt(e.itl_p90_s)},
          {"tpot_s", e.tpot_s},
          {"ttft_s", opt(e.ttft_s)},
          {"meets_slo", c.meets_slo},
          {"slo_ratio", c.slo_ratio},
          {"per_million_tokens", {{"kwh", f.kwh}, {"cost_usd", f.cost_usd}, {"co2_g", f.co2_g}}}};
}

nlohmann::json to_json(const Advice& a, const Request& r) {
  auto pick = [&](const std::optional<size_t>& i) { return i ? to_json(a.candidates[*i]) : nlohmann::json(); };
  nlohmann::json frontier_itl = nlohmann::json::array(), frontier_tp = nlohmann::json::array();
  for (size_t i : a.frontier_itl) frontier_itl.push_back(to_json(a.candidates[i]));
  for (size_t i : a.frontier_throughput) frontier_tp.push_back(to_json(a.candidates[i]));
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json doc{
      {"request",
       {{"prompt_len", r.prompt_len},
        {"output_len", r.output_len},
        {"prompt_cached_share", r.prompt_cached_share},
        {"itl_slo_s", opt(r.slo.itl_s)},
        {"ttft_slo_s", opt(r.slo.ttft_s)},
        {"max_gpus", r.max_gpus},
        {"machines", r.machines},
        {"quantizations", r.quantizations},
        {"engines", r.engines}}},
      {"searched", a.searched},
      {"fitting", a.fitting},
      {"meeting", a.meeting},
      {"best", pick(a.best)},
      {"runner_up", pick(a.runner_up)},
      {"why", a.why.empty() ? nlohmann::json() : nlohmann::json(a.why)},
      {"closest_miss", pick(a.closest_miss)},
      {"frontier_itl", std::move(frontier_itl)},
      {"frontier_throughput", std::move(frontier_tp)},
      {"excluded", a.excluded},
      {"needs", a.needs.empty() ? nlohmann::json() : nlohmann::json(a.needs)},
      {"prices", {{"usd_per_kwh", kDefaultUsdPerKwh}, {"grams_co2_per_kwh", kDefaultGramsPerKwh},
                  {"source", "0.15 USD/kWh is an assumption; 475 g CO2/kWh is the IEA world average of 2019"}}}};
  return doc;
}

}  // namespace irene::advisor
