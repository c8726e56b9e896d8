// A latency predictor: the roofline's latency model of one machine (efficiencies,
// per-kernel overhead, memory and last-level-cache bandwidths), fitted by `irene train
// --method roofline` on `irene profile` outputs of several models there, and read by
// `irene predict --predictor FILE` to predict every node's latency of any model's tree.
// It holds no power model: a CPU profile here has no energy meter, so it predicts time,
// never energy.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "predict/latency_calibration.h"
#include "tree/tree.h"

namespace irene::predict {

struct LatencyPredictor {
  std::string machine_id;    // the catalogue's id ("this-cpu")
  std::string machine_name;  // what that id was when fitted ("Intel Xeon ..."): this-cpu moves with the binary
  LatencyModel model;
  nlohmann::json crossval;  // latency_crossval's report on the same profiles, or null (one model only)
  nlohmann::json data;      // the profiles it was fitted on: files, models, measured nodes
};

// True for a file of this kind (`"method": "roofline-latency"`).
bool is_latency_predictor(const nlohmann::json& doc);
nlohmann::json to_json(const LatencyPredictor& p);
Result<LatencyPredictor> latency_predictor_from_json(const nlohmann::json& doc, const std::string& where);
Status save_latency_predictor(const LatencyPredictor& p, const std::string& path);

// Fits `profiles` (all of them) on `machine`; with two models or more, also checks the
// fit leave one model out and keeps the report.
Result<LatencyPredictor> train_latency(const std::vector<ProfiledModel>& profiles, const machines::MachineSpec& machine);

// Sets predicted_latency_s on every node of `t` (math nodes from the roofline, the others
// summing their children) and returns the root's. A machine other than the one fitted
// on (same id, another name) is predicted all the same, with a note saying so.
Result<double> predict_latency(tree::Tree& t, const LatencyPredictor& p);

}  // namespace irene::predict
