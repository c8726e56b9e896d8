// The roofline's latency on irene's own profiles: `irene profile` JSON files, each a
// model's tree with every node's measured latency on this machine. Predicted from the
// spec sheet alone (first-guess efficiencies), or calibrated on the profiles of other
// models (efficiencies, per-kernel overhead, and the memory bandwidth where the spec has
// none, as for a CPU) and checked leave one model out against the measured latencies.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "predict/roofline.h"
#include "tree/tree.h"

namespace irene::predict {

struct ProfiledModel {
  std::string file;   // the profile it was read from
  tree::Tree tree;    // measured latency on the nodes that were profiled
  std::optional<double> dispatch_overhead_s;  // the profile's measured cost of one tiny op
  std::optional<MemoryLevels> measured_memory;  // its measured copy bandwidths, per cache level and memory
  std::string device = "cpu";                   // where it ran (the header's settings.device)
  // The machine's speed while it ran: the mean over the profile's rounds of the reference
  // product's FLOP/s (models::measure_reference_gemm, timed at the start of each round).
  std::optional<double> speed_flop_per_s;
  // Its measured speed of a Conv1D's product over a Linear's (the header's
  // weight_layout_probe), where it has one.
  std::optional<WeightLayoutRatios> weight_layouts;
};

// Every *.json of `dir` that is an `irene profile` output (a tree with a "profile"
// header); other JSON files are skipped. Errors name the file.
Result<std::vector<ProfiledModel>> load_profiles(const std::string& dir);
// [{"op_bytes", "speed_ratio"}], smallest first, or null where nothing was measured: as
// crossval reports them and predictor files keep them.
nlohmann::json weight_layouts_json(const WeightLayoutRatios& ratios);
// Whether `dir` holds profiles rather than measured serving data.
bool is_profile_folder(const std::string& dir);

struct LatencyModel {
  RooflineParams params;
  // Memory bandwidth: the machine's, or fitted where its spec has none; with the
  // machine's last-level cache size, the cache's bandwidth is fitted too.
  MemoryLevels memory;
  // The speed of the machine the fit saw (the median of its profiles' speeds): a profile
  // that ran faster or slower is predicted with the peak FLOP/s scaled by its own speed
  // over this one. Empty: no scaling (profiles without the probe).
  std::optional<double> reference_speed_flop_per_s;
  // A Conv1D's product's speed over a Linear's, by the op's bytes: the profiles' measured
  // ratios (their medians); empty where they have none (the same speed).
  WeightLayoutRatios untransposed_weight;
};

// The machine as a profile saw it: the peak FLOP/s scaled by the profile's measured speed
// over the model's reference speed, where both are known; else the machine unchanged.
machines::MachineSpec machine_at_speed(const machines::MachineSpec& machine, const LatencyModel& model,
                                       const std::optional<double>& speed_flop_per_s);

// First guesses and the machine's bandwidth; where the spec has none, memory time is
// left out (compute and overheads only), and the answer says so.
LatencyModel spec_latency_model(const machines::MachineSpec& machine);
// Fitted on the measured nodes of `models` (mean absolute log error of every node's
// latency): GEMM, transcendental and other compute efficiencies, a module call's host
// cost, memory bandwidth (or its efficiency, where the spec gives it) and the cache's
// bandwidth. The per-kernel overhead is the profiles' measured dispatch cost (their
// median) where every profile has one, else fitted too; likewise the bandwidths: the
// profiles' measured ones at every cache level and memory (their medians) as they are,
// with a fitted overlap of compute and memory time, else memory's and the last level's
// fitted. Each profile is fitted at its own measured machine speed, and a Conv1D's
// product at the profiles' measured speed of its weight layout.
LatencyModel fit_latency(const std::vector<const ProfiledModel*>& models, const machines::MachineSpec& machine,
                         int max_evaluations = 1500);

// Leave one model out: per held-out model, the node-weighted mean of 100 x |pred - meas|
// / meas over its measured nodes below the root, and the same for the whole model (the
// root), calibrated on the other models and from the spec sheet alone; averages over
// models. Needs two models or more. The held-out profile lends the calibrated prediction
// its measured machine speed (never its nodes' latencies): the speed the machine ran at
// is a fact of the machine at that time, measured by the reference product alone.
Result<nlohmann::json> latency_crossval(const std::vector<ProfiledModel>& models, const machines::MachineSpec& machine);

}  // namespace irene::predict
