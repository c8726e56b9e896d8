#include "engines/engine.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "engines/engine_specs.h"

namespace irene::engines {

namespace {

// The roofline parameters calibration knows how to fit (serving/calibration.cc).
constexpr const char* kFittable[] = {"gemm_efficiency", "memory_efficiency",   "kernel_overhead_s",
                                     "compute_power",   "memory_power",        "dequant_power", "step_overhead_s",
                                     "per_sequence_overhead_s", "per_logit_s", "host_wait_power", "collective_wait_power",
                                     "all_reduce_latency_s",
                                     "admission_overhead_s",    "kernel_gap_s", "expert_parallel_latency_s"};

Status check_names(const std::vector<std::string>& names, const std::string& where) {
  for (const std::string& n : names)
    if (std::find_if(std::begin(kFittable), std::end(kFittable), [&](const char* f) { return n == f; }) ==
        std::end(kFittable)) {
      std::string allowed;
      for (const char* f : kFittable) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
      return Status::corrupt(where + ": unknown fitted parameter '" + n + "' (allowed: " + allowed + ")");
    }
  return Status::ok();
}

// A key a description's block does not know is an error, not ignored: a source or a
// setting put in the wrong block would otherwise silently do nothing. The keys known are
// those to_json writes (`known`, a description written out); an empty block of it
// (sources) takes any.
Status check_keys(const nlohmann::json& block, const nlohmann::json& known, const std::string& where,
                  const std::string& name) {
  if (!block.is_object()) return Status::corrupt(where + ": " + name + " must be an object");
  for (const auto& [key, value] : block.items()) {
    if (!known.contains(key)) {
      std::string list;
      for (const auto& [k, v] : known.items()) list += (list.empty() ? "" : ", ") + k;
      return Status::corrupt(where + ": unknown key '" + key + "' in " + name + " (allowed: " + list + ")");
    }
    if (known[key].is_object() && !known[key].empty()) IRENE_RETURN_IF_ERROR(check_keys(value, known[key], where, key));
  }
  return Status::ok();
}

Result<PrefixCaching> prefix_caching_from(const std::string& s, const std::string& where) {
  for (PrefixCaching p : {PrefixCaching::kNone, PrefixCaching::kAttentionOnly, PrefixCaching::kAll})
    if (s == prefix_caching_name(p)) return p;
  return Status::corrupt(where + ": scheduling.prefix_caching must be none, attention_only or all, got '" + s + "'");
}

Result<GraphMode> graph_mode_from(const std::string& s, const std::string& where) {
  if (s == "full") return GraphMode::kFull;
  if (s == "piecewise") return GraphMode::kPiecewise;
  if (s == "eager") return GraphMode::kEager;
  return Status::corrupt(where + ": cuda_graphs.mixed_iterations must be full, piecewise or eager, got '" + s + "'");
}

}  // namespace

const char* kernels_name(Kernels k) { return k == Kernels::kFused ? "fused" : "eager"; }

const char* prefix_caching_name(PrefixCaching p) {
  switch (p) {
    case PrefixCaching::kNone: return "none";
    case PrefixCaching::kAttentionOnly: return "attention_only";
    case PrefixCaching::kAll: return "all";
  }
  return "none";
}

const char* graph_mode_name(GraphMode g) {
  switch (g) {
    case GraphMode::kFull: return "full";
    case GraphMode::kPiecewise: return "piecewise";
    case GraphMode::kEager: return "eager";
  }
  return "eager";
}

nlohmann::json to_json(const Engine& e) {
  return {{"id", e.id},
          {"name", e.name},
          {"version", e.version},
          {"scheduling",
           {{"chunked_prefill", e.chunked_prefill},
            {"max_num_batched_tokens", e.max_num_batched_tokens > 0 ? nlohmann::json(e.max_num_batched_tokens) : nullptr},
            {"max_num_seqs", e.max_num_seqs},
            {"gpu_memory_utilization", e.gpu_memory_utilization},
            {"min_compute_capability", e.min_compute_capability},
            {"prefix_caching", prefix_caching_name(e.prefix_caching)}}},
          {"cuda_graphs", {{"max_tokens", e.graph_max_tokens}, {"mixed_iterations", graph_mode_name(e.mixed_graphs)}}},
          {"kernels", kernels_name(e.kernels)},
          {"host_time_per_worker", e.host_time_per_worker},
          {"float32_runs_as", e.float32_runs_as},
          {"calibration",
           {{"fitted", e.fitted}, {"fitted_from_one_model", e.fitted_from_one_model}, {"starts", e.calibration_starts}}},
          {"sources", e.sources},
          {"notes", e.notes}};
}

Result<Engine> engine_from_json(const nlohmann::json& j, const std::string& where) {
  static const nlohmann::json kKnown = to_json(Engine{});
  IRENE_RETURN_IF_ERROR(check_keys(j, kKnown, where, "the description"));
  Engine e;
  try {
    e.id = j.at("id").get<std::string>();
    e.name = j.at("name").get<std::string>();
    e.version = j.at("version").get<std::string>();
    const auto& s = j.at("scheduling");
    e.chunked_prefill = s.at("chunked_prefill").get<bool>();
    e.max_num_batched_tokens = s.at("max_num_batched_tokens").is_null() ? 0 : s.at("max_num_batched_tokens").get<int64_t>();
    e.max_num_seqs = s.at("max_num_seqs").get<int64_t>();
    e.gpu_memory_utilization = s.at("gpu_memory_utilization").get<double>();
    e.min_compute_capability = s.value("min_compute_capability", 0.0);
    IRENE_ASSIGN_OR_RETURN(e.prefix_caching, prefix_caching_from(s.value("prefix_caching", "none"), where));
    e.graph_max_tokens = j.at("cuda_graphs").at("max_tokens").get<int64_t>();
    IRENE_ASSIGN_OR_RETURN(e.mixed_graphs,
                           graph_mode_from(j.at("cuda_graphs").at("mixed_iterations").get<std::string>(), where));
    const std::string kernels = j.at("kernels").get<std::string>();
    if (kernels != "eager" && kernels != "fused")
      return Status::corrupt(where + ": kernels must be eager or fused, got '" + kernels + "'");
    e.kernels = kernels == "fused" ? Kernels::kFused : Kernels::kEager;
    e.host_time_per_worker = j.at("host_time_per_worker").get<bool>();
    e.float32_runs_as = j.value("float32_runs_as", "");
    e.fitted = j.at("calibration").at("fitted").get<std::vector<std::string>>();
    e.fitted_from_one_model = j.at("calibration").at("fitted_from_one_model").get<std::vector<std::string>>();
    e.calibration_starts = j.at("calibration").value("starts", 1);
    e.sources = j.value("sources", nlohmann::json::object());
    e.notes = j.value("notes", "");
  } catch (const nlohmann::json::exception& ex) {
    return Status::corrupt(where + ": " + ex.what());
  }
  IRENE_RETURN_IF_ERROR(check_names(e.fitted, where));
  IRENE_RETURN_IF_ERROR(check_names(e.fitted_from_one_model, where));
  for (const std::string& n : e.fitted_from_one_model)
    if (std::find(e.fitted.begin(), e.fitted.end(), n) == e.fitted.end())
      return Status::corrupt(where + ": '" + n + "' is fitted from one model but not among the fitted parameters");
  if (e.calibration_starts < 1 || e.calibration_starts > 16)
    return Status::corrupt(where + ": calibration.starts must be from 1 to 16");
  if (e.chunked_prefill && e.max_num_batched_tokens <= 0)
    return Status::corrupt(where + ": chunked prefill needs max_num_batched_tokens");
  if (!(e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1))
    return Status::corrupt(where + ": gpu_memory_utilization must be in (0, 1]");
  return e;
}

const std::vector<Engine>& engine_catalogue() {
  static const std::vector<Engine> engines = [] {
    std::vector<Engine> out;
    for (const auto& f : engine_spec_files()) {
      auto doc = nlohmann::json::parse(f.text, nullptr, false);
      auto e = engine_from_json(doc, std::string(f.name));
      if (e.is_ok()) out.push_back(std::move(*e));  // a broken shipped file fails engines_test
    }
    // Oldest first: versions compare number by number.
    auto parts = [](const std::string& v) {
      std::vector<int> out;
      int n = 0;
      bool any = false;
      for (char c : v + ".") {
        if (std::isdigit(static_cast<unsigned char>(c))) {
          n = n * 10 + (c - '0');
          any = true;
        } else if (any) {
          out.push_back(n);
          n = 0;
          any = false;
        }
      }
      return out;
    };
    std::stable_sort(out.begin(), out.end(), [&](const Engine& a, const Engine& b) {
      return a.name.substr(0, 4) == b.name.substr(0, 4) ? parts(a.version) < parts(b.version) : a.id < b.id;
    });
    return out;
  }();
  return engines;
}

Result<Engine> find_engine(const std::string& id) {
  std::string ids;
  for (const Engine& e : engine_catalogue()) {
    if (e.id == id) return e;
    ids += (ids.empty() ? "" : ", ") + e.id;
  }
  return Status::not_found("unknown engine '" + id + "'; irene describes: " + ids);
}

std::string engine_id(const std::string& name, const std::string& version) {
  std::string id;
  for (char c : name) id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id + "-" + version;
}

}  // namespace irene::engines
