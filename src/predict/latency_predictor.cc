#include "predict/latency_predictor.h"

#include <cmath>
#include <filesystem>
#include <set>

#include "common/json_file.h"

namespace irene::predict {

namespace {

constexpr const char* kFormat = "irene-latency-predictor";
constexpr const char* kMethod = "roofline-latency";
constexpr int kVersion = 1;

// A positive finite number at `j[key]`, or an error naming it.
Result<double> positive(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number() || !std::isfinite(j[key].get<double>()) ||
      j[key].get<double>() <= 0)
    return Status::corrupt(where + ": '" + key + "' must be a positive number");
  return j[key].get<double>();
}

}  // namespace

bool is_latency_predictor(const nlohmann::json& doc) {
  return doc.is_object() && doc.value("method", "") == kMethod;
}

nlohmann::json to_json(const LatencyPredictor& p) {
  const RooflineParams& r = p.model.params;
  nlohmann::json caches = nlohmann::json::array();
  for (const CacheLevel& c : p.model.memory.caches)
    caches.push_back({{"bytes", c.bytes}, {"bandwidth_bytes_per_s", c.bandwidth_bytes_per_s}});
  return {{"format", kFormat},
          {"version", kVersion},
          {"method", kMethod},
          {"machine", p.machine_id},
          {"machine_name", p.machine_name},
          {"params",
           {{"gemm_efficiency", r.gemm_efficiency},
            {"attention_efficiency", r.attention_efficiency},
            {"other_compute_efficiency", r.other_compute_efficiency},
            {"transcendental_efficiency", r.transcendental_efficiency},
            {"memory_efficiency", r.memory_efficiency},
            {"compute_memory_overlap", r.compute_memory_overlap},
            {"kernel_overhead_s", r.kernel_overhead_s},
            {"module_overhead_s", r.module_overhead_s}}},
          {"memory", {{"bandwidth_bytes_per_s", p.model.memory.bandwidth_bytes_per_s}, {"caches", caches}}},
          {"reference_speed_flop_per_s", p.model.reference_speed_flop_per_s ? nlohmann::json(*p.model.reference_speed_flop_per_s)
                                                                             : nlohmann::json(nullptr)},
          {"untransposed_weight_speed", weight_layouts_json(p.model.untransposed_weight)},
          {"crossval", p.crossval},
          {"data", p.data}};
}

Result<LatencyPredictor> latency_predictor_from_json(const nlohmann::json& doc, const std::string& where) {
  if (!is_latency_predictor(doc)) return Status::corrupt(where + " is not a latency predictor (\"method\": \"" + kMethod + "\")");
  if (doc.value("format", "") != kFormat || doc.value("version", 0) != kVersion)
    return Status::corrupt(where + ": format must be " + kFormat + " version " + std::to_string(kVersion));
  if (!doc.contains("machine") || !doc["machine"].is_string() || doc["machine"].get<std::string>().empty())
    return Status::corrupt(where + ": no 'machine' (the catalogue's id of the machine it was fitted on)");
  LatencyPredictor p;
  p.machine_id = doc["machine"].get<std::string>();
  p.machine_name = doc.value("machine_name", "");
  const nlohmann::json params = doc.value("params", nlohmann::json());
  RooflineParams& r = p.model.params;
  IRENE_ASSIGN_OR_RETURN(r.gemm_efficiency, positive(params, "gemm_efficiency", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.attention_efficiency, positive(params, "attention_efficiency", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.other_compute_efficiency, positive(params, "other_compute_efficiency", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.transcendental_efficiency, positive(params, "transcendental_efficiency", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.memory_efficiency, positive(params, "memory_efficiency", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.kernel_overhead_s, positive(params, "kernel_overhead_s", where + ": params"));
  IRENE_ASSIGN_OR_RETURN(r.module_overhead_s, positive(params, "module_overhead_s", where + ": params"));
  // Older files have no overlap: the plain roofline's.
  r.compute_memory_overlap = 1;
  if (params.is_object() && params.contains("compute_memory_overlap"))
    r.compute_memory_overlap = params["compute_memory_overlap"].is_number() ? params["compute_memory_overlap"].get<double>()
                                                                            : -1;  // refused below
  if (!(r.compute_memory_overlap >= 0 && r.compute_memory_overlap <= 1))
    return Status::corrupt(where + ": params: 'compute_memory_overlap' must be from 0 to 1");
  for (double e : {r.gemm_efficiency, r.attention_efficiency, r.other_compute_efficiency, r.transcendental_efficiency,
                   r.memory_efficiency})
    if (e > 1) return Status::corrupt(where + ": efficiencies must be in (0, 1]");
  r.calibrated = true;
  const nlohmann::json memory = doc.value("memory", nlohmann::json());
  IRENE_ASSIGN_OR_RETURN(p.model.memory.bandwidth_bytes_per_s, positive(memory, "bandwidth_bytes_per_s", where + ": memory"));
  if (memory.contains("caches")) {
    if (!memory["caches"].is_array()) return Status::corrupt(where + ": memory.caches must be an array");
    double previous = 0;
    for (const auto& c : memory["caches"]) {
      CacheLevel level;
      IRENE_ASSIGN_OR_RETURN(level.bytes, positive(c, "bytes", where + ": memory.caches[]"));
      IRENE_ASSIGN_OR_RETURN(level.bandwidth_bytes_per_s, positive(c, "bandwidth_bytes_per_s", where + ": memory.caches[]"));
      if (level.bytes <= previous) return Status::corrupt(where + ": memory.caches must go from the smallest up");
      previous = level.bytes;
      p.model.memory.caches.push_back(level);
    }
  }
  if (doc.contains("reference_speed_flop_per_s") && !doc["reference_speed_flop_per_s"].is_null()) {
    IRENE_ASSIGN_OR_RETURN(double speed, positive(doc, "reference_speed_flop_per_s", where));
    p.model.reference_speed_flop_per_s = speed;
  }
  // A Conv1D's product's speed over a Linear's; null or absent (older files): the same speed.
  if (doc.contains("untransposed_weight_speed") && !doc["untransposed_weight_speed"].is_null()) {
    if (!doc["untransposed_weight_speed"].is_array())
      return Status::corrupt(where + ": untransposed_weight_speed must be an array of {op_bytes, speed_ratio}");
    double previous = 0;
    for (const auto& size : doc["untransposed_weight_speed"]) {
      IRENE_ASSIGN_OR_RETURN(double bytes, positive(size, "op_bytes", where + ": untransposed_weight_speed[]"));
      IRENE_ASSIGN_OR_RETURN(double ratio, positive(size, "speed_ratio", where + ": untransposed_weight_speed[]"));
      if (bytes <= previous) return Status::corrupt(where + ": untransposed_weight_speed must go from the smallest op up");
      previous = bytes;
      p.model.untransposed_weight.by_op_bytes.emplace_back(bytes, ratio);
    }
  }
  p.crossval = doc.value("crossval", nlohmann::json());
  p.data = doc.value("data", nlohmann::json());
  return p;
}

Status save_latency_predictor(const LatencyPredictor& p, const std::string& path) {
  return write_json_file(to_json(p), path);
}

Result<LatencyPredictor> train_latency(const std::vector<ProfiledModel>& profiles, const machines::MachineSpec& m) {
  if (profiles.empty()) return Status::invalid_argument("no profiles to fit on");
  // The profiles measured one kind of device; the machine fitted must be of that kind.
  const std::string kind = m.kind == "gpu" ? "cuda" : "cpu";
  for (const auto& p : profiles)
    if (p.device != kind)
      return Status::invalid_argument(p.file + " was profiled on " + (p.device == "cuda" ? "a GPU" : "the CPU") +
                                      ", but machine '" + m.id + "' is a " + (m.kind == "gpu" ? "GPU" : "CPU") +
                                      ": fit profiles on the machine they measured (--machine-id)");
  std::vector<const ProfiledModel*> all;
  std::set<std::string> models;
  nlohmann::json files = nlohmann::json::array();
  int nodes = 0;
  for (const auto& p : profiles) {
    all.push_back(&p);
    models.insert(p.tree.model);
    files.push_back(std::filesystem::path(p.file).filename().string());
    for (const auto& n : p.tree.nodes) nodes += n.measured && n.measured->times_mean_s > 0;
  }
  LatencyPredictor out;
  out.machine_id = m.id;
  out.machine_name = m.name;
  out.model = fit_latency(all, m);
  if (models.size() >= 2) {
    IRENE_ASSIGN_OR_RETURN(out.crossval, latency_crossval(profiles, m));
  }
  out.data = {{"profiles", files},
              {"models", std::vector<std::string>(models.begin(), models.end())},
              {"measured_nodes", nodes}};
  return out;
}

Result<double> predict_latency(tree::Tree& t, const LatencyPredictor& p) {
  if (t.empty()) return Status::invalid_argument("an empty tree has no latency");
  IRENE_ASSIGN_OR_RETURN(machines::MachineSpec m, machines::find_machine(p.machine_id));
  IRENE_ASSIGN_OR_RETURN(std::vector<double> latency, node_latencies(t, m, p.model.params, p.model.memory, p.model.untransposed_weight));
  for (size_t i = 0; i < t.nodes.size(); ++i) t.nodes[i].predicted_latency_s = latency[i];
  std::string note = "latency from the roofline calibrated on irene profiles of " + p.machine_id;
  if (p.data.is_object() && p.data.contains("models")) note += " (" + std::to_string(p.data["models"].size()) + " models)";
  if (p.crossval.is_object() && p.crossval.contains("calibrated"))
    note += "; leave-one-model-out error " + std::to_string(std::lround(p.crossval["calibrated"].value("nodes", 0.0))) +
            " % per node, " + std::to_string(std::lround(p.crossval["calibrated"].value("model", 0.0))) + " % per model";
  note += "; no energy (the profiles had no energy meter's figures to fit a power model on)";
  t.notes.push_back(note);
  if (!p.machine_name.empty() && p.machine_name != m.name)
    t.notes.push_back("fitted on " + p.machine_name + ", predicting " + m.name + ": the parameters may not carry over");
  return latency.empty() ? 0.0 : latency[0];
}

}  // namespace irene::predict
