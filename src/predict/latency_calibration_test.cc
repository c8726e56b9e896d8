#include "predict/latency_calibration.h"

#include <gtest/gtest.h>

#include "models/zoo.h"
#include "predict/latency_predictor.h"

namespace irene::predict {
namespace {

// A CPU with the figures the calibration needs: the host's spec (peaks from the OS) and
// two cache levels, so that the measured memory levels apply.
machines::MachineSpec cpu() {
  machines::MachineSpec m = machines::host_cpu();
  m.peak_flops = {{"float32", 100e9}};
  m.cache_bytes = {1 << 20, 32 << 20};
  return m;
}

// The machine a set of synthetic profiles ran on, and the model that made their latencies.
LatencyModel truth() {
  LatencyModel lm;
  lm.params.gemm_efficiency = lm.params.attention_efficiency = 0.4;
  lm.params.other_compute_efficiency = 0.2;
  lm.params.transcendental_efficiency = 0.05;
  lm.params.kernel_overhead_s = 2e-6;
  lm.params.module_overhead_s = 5e-6;
  lm.params.memory_efficiency = 1;
  lm.params.compute_memory_overlap = 0.5;
  lm.memory = {10e9, {{1 << 20, 100e9}, {32 << 20, 30e9}}};
  lm.reference_speed_flop_per_s = 40e9;
  return lm;
}

// A profile of `model` whose nodes took what `lm` says on the machine at `speed`: every
// non-math node measured, as `irene profile --level all` does, the probes as they were.
ProfiledModel synthetic_profile(const std::string& model, double speed, const LatencyModel& lm) {
  ProfiledModel p;
  p.file = model + ".json";
  p.tree = models::trace_model(models::bundled_config(model).value(), {1, 16, true}).value();
  const std::vector<double> latency =
      node_latencies(p.tree, machine_at_speed(cpu(), lm, speed), lm.params, lm.memory, lm.untransposed_weight).value();
  for (size_t i = 0; i < p.tree.nodes.size(); ++i) {
    if (p.tree.nodes[i].kind == tree::NodeKind::kMath) continue;
    tree::Measurement m;
    m.times_mean_s = latency[i];
    p.tree.nodes[i].measured = m;
  }
  p.dispatch_overhead_s = lm.params.kernel_overhead_s;
  p.measured_memory = lm.memory;
  p.speed_flop_per_s = speed;
  if (!lm.untransposed_weight.by_op_bytes.empty()) p.weight_layouts = lm.untransposed_weight;
  return p;
}

TEST(LatencyCalibrationTest, AProfileIsPredictedAtTheSpeedItsMachineRanAt) {
  LatencyModel lm;
  lm.reference_speed_flop_per_s = 40e9;
  EXPECT_DOUBLE_EQ(machine_at_speed(cpu(), lm, 80e9).peak_flops.at("float32"), 200e9);
  EXPECT_DOUBLE_EQ(machine_at_speed(cpu(), lm, std::nullopt).peak_flops.at("float32"), 100e9);
  lm.reference_speed_flop_per_s.reset();
  EXPECT_DOUBLE_EQ(machine_at_speed(cpu(), lm, 80e9).peak_flops.at("float32"), 100e9);
}

// Profiles of three models taken while the machine ran at different speeds: calibrated on
// two, the third is predicted near its measured latencies when each profile's measured speed
// is known, and far off when the speeds are dropped (the fit then sees one machine whose
// compute time disagrees between profiles).
TEST(LatencyCalibrationTest, MeasuredSpeedsMakeProfilesOfADriftingMachineComparable) {
  const LatencyModel lm = truth();
  std::vector<ProfiledModel> profiles = {synthetic_profile("google/bert_uncased_L-4_H-256_A-4", 40e9, lm),
                                         synthetic_profile("distilgpt2", 25e9, lm),
                                         synthetic_profile("HuggingFaceTB/SmolLM2-135M", 60e9, lm)};
  auto with_speed = latency_crossval(profiles, cpu());
  ASSERT_TRUE(with_speed.is_ok()) << with_speed.status().to_string();
  for (auto& p : profiles) p.speed_flop_per_s.reset();
  auto without = latency_crossval(profiles, cpu());
  ASSERT_TRUE(without.is_ok()) << without.status().to_string();
  const double nodes = (*with_speed)["calibrated"]["nodes"].get<double>();
  EXPECT_LT(nodes, 5.0) << with_speed->dump(1);
  EXPECT_LT((*with_speed)["calibrated"]["model"].get<double>(), 5.0);
  EXPECT_GT((*without)["calibrated"]["nodes"].get<double>(), 2 * nodes + 5.0) << without->dump(1);
  EXPECT_NE((*with_speed)["note"].get<std::string>().find("its own measured machine speed"), std::string::npos);
  EXPECT_EQ((*without)["note"].get<std::string>().find("machine speed"), std::string::npos);
  const auto& fitted = (*with_speed)["per_model"].begin().value()["fitted"];
  EXPECT_DOUBLE_EQ(fitted["memory_efficiency"].get<double>(), 1.0) << "measured bandwidths are used as they are";
  EXPECT_TRUE(fitted["held_out_speed_flop_per_s"].is_number());
}

// GPT-2's Conv1D products ran at a fraction of a Linear's speed, as the profiles' layout
// probe measured: calibrated on models without a Conv1D, GPT-2 is predicted near its
// latencies with the probe's ratios, and its products too fast without them.
TEST(LatencyCalibrationTest, TheMeasuredWeightLayoutSpeedCarriesOverToConv1D) {
  LatencyModel lm = truth();
  lm.untransposed_weight = {{{1e5, 0.9}, {1e6, 0.5}}};
  std::vector<ProfiledModel> profiles = {synthetic_profile("google/bert_uncased_L-4_H-256_A-4", 40e9, lm),
                                         synthetic_profile("HuggingFaceTB/SmolLM2-135M", 60e9, lm),
                                         synthetic_profile("distilgpt2", 25e9, lm)};
  auto with_layouts = latency_crossval(profiles, cpu());
  ASSERT_TRUE(with_layouts.is_ok()) << with_layouts.status().to_string();
  for (auto& p : profiles) p.weight_layouts.reset();
  auto without = latency_crossval(profiles, cpu());
  ASSERT_TRUE(without.is_ok()) << without.status().to_string();
  const auto& gpt2 = (*with_layouts)["per_model"]["distilgpt2 (1, 16)"];
  const double conv = gpt2["calibrated_by_class"]["Conv1D"]["error"].get<double>();
  EXPECT_LT(conv, 5.0) << gpt2.dump(1);
  EXPECT_GT((*without)["per_model"]["distilgpt2 (1, 16)"]["calibrated_by_class"]["Conv1D"]["error"].get<double>(),
            conv + 20.0);
  EXPECT_TRUE(gpt2["fitted"]["untransposed_weight_speed"].is_array());
  EXPECT_NE((*with_layouts)["note"].get<std::string>().find("Conv1D"), std::string::npos);
  EXPECT_TRUE((*without)["per_model"]["distilgpt2 (1, 16)"]["fitted"]["untransposed_weight_speed"].is_null());
}

// A predictor file keeps the overlap, the reference speed and the weight layouts' speeds;
// one written before they existed reads as the plain roofline at no particular speed, a
// Conv1D at a Linear's speed; a bad overlap or unsorted layout sizes are refused.
TEST(LatencyCalibrationTest, PredictorFilesKeepTheOverlapAndTheReferenceSpeed) {
  LatencyPredictor p;
  p.machine_id = "this-cpu";
  p.model = truth();
  const nlohmann::json doc = to_json(p);
  auto back = latency_predictor_from_json(nlohmann::json::parse(doc.dump()), "p.json");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_DOUBLE_EQ(back->model.params.compute_memory_overlap, 0.5);
  EXPECT_DOUBLE_EQ(back->model.reference_speed_flop_per_s.value_or(0), 40e9);
  EXPECT_TRUE(back->model.untransposed_weight.by_op_bytes.empty());
  p.model.untransposed_weight = {{{1e5, 0.9}, {1e6, 0.5}}};
  back = latency_predictor_from_json(nlohmann::json::parse(to_json(p).dump()), "p.json");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->model.untransposed_weight.by_op_bytes, p.model.untransposed_weight.by_op_bytes);
  nlohmann::json unsorted = to_json(p);
  std::swap(unsorted["untransposed_weight_speed"][0], unsorted["untransposed_weight_speed"][1]);
  EXPECT_NE(latency_predictor_from_json(unsorted, "u.json").status().message().find("from the smallest op up"),
            std::string::npos);
  nlohmann::json old = doc;
  old["params"].erase("compute_memory_overlap");
  old.erase("reference_speed_flop_per_s");
  back = latency_predictor_from_json(old, "old.json");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_DOUBLE_EQ(back->model.params.compute_memory_overlap, 1.0);
  EXPECT_FALSE(back->model.reference_speed_flop_per_s.has_value());
  nlohmann::json bad = doc;
  bad["params"]["compute_memory_overlap"] = "half";
  const Status s = latency_predictor_from_json(bad, "bad.json").status();
  EXPECT_EQ(s.code(), StatusCode::kCorrupt);
  EXPECT_NE(s.message().find("'compute_memory_overlap' must be from 0 to 1"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace irene::predict
