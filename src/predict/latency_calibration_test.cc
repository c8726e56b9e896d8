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
  const std::vector<double> latency = node_latencies(p.tree, machine_at_speed(cpu(), lm, speed), lm.params, lm.memory).value();
  for (size_t i = 0; i < p.tree.nodes.size(); ++i) {
    if (p.tree.nodes[i].kind == tree::NodeKind::kMath) continue;
    tree::Measurement m;
    m.times_mean_s = latency[i];
    p.tree.nodes[i].measured = m;
  }
  p.dispatch_overhead_s = lm.params.kernel_overhead_s;
  p.measured_memory = lm.memory;
  p.speed_flop_per_s = speed;
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

// A predictor file keeps the overlap and the reference speed; one written before either
// existed reads as the plain roofline at no particular speed; a bad overlap is refused.
TEST(LatencyCalibrationTest, PredictorFilesKeepTheOverlapAndTheReferenceSpeed) {
  LatencyPredictor p;
  p.machine_id = "this-cpu";
  p.model = truth();
  const nlohmann::json doc = to_json(p);
  auto back = latency_predictor_from_json(nlohmann::json::parse(doc.dump()), "p.json");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_DOUBLE_EQ(back->model.params.compute_memory_overlap, 0.5);
  EXPECT_DOUBLE_EQ(back->model.reference_speed_flop_per_s.value_or(0), 40e9);
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
