#include "serving/predictor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "models/zoo.h"
#include "serving/calibration.h"

namespace irene::serving {
namespace {

const std::string kData = std::string(IRENE_DATA_DIR) + "/../mlenergy";

const ServingPredictor* shipped(const std::string& id) {
  for (const auto& p : shipped_serving_predictors())
    if (p.machine_id == id) return &p;
  return nullptr;
}

TEST(ServingPredictorTest, IreneShipsOneForEachGpuOfTheSharedData) {
  for (const std::string id : {"a100-sxm4-40gb", "h100-sxm5-80gb"}) {
    const ServingPredictor* p = shipped(id);
    ASSERT_NE(p, nullptr) << id;
    EXPECT_TRUE(p->params.calibrated);
    ASSERT_TRUE(p->intervals.energy.has_value()) << id;
    EXPECT_LT(p->intervals.energy->low, p->intervals.energy->high);
    ASSERT_TRUE(p->carried_intervals.energy.has_value()) << id;
    ASSERT_TRUE(p->crossval.is_object());
    EXPECT_GT(p->crossval["energy_per_token"].get<double>(), 0);
    EXPECT_GT(p->data["rows"].get<int>(), 50);
  }
}

// The shipped files are what `irene train` makes from the shared data: fitting again
// gives the same parameters (predictors/README.md says how they were made).
TEST(ServingPredictorTest, TheShippedParametersAreTheFitOfTheSharedData) {
  if (!std::filesystem::exists(kData + "/vllm_v2_measurements.csv")) GTEST_SKIP() << "no ML.ENERGY data at " << kData;
  auto data = load_measured_serving(kData).value();
  for (const std::string id : {"a100-sxm4-40gb", "h100-sxm5-80gb"}) {
    const ServingPredictor* p = shipped(id);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->data["fingerprint"].get<std::string>(), data.fingerprint) << "the shared data changed; retrain";
    CalibrationOptions o;
    o.default_prompt_len = p->data["default_prompt_len"].get<double>();
    o.default_run_requests = p->data.value("default_run_requests", 0.0);
    o.max_evaluations = p->data["max_evaluations"].get<int>();
    o.restarts = p->data["restarts"].get<int>();
    auto cases = build_cases(data, o).value();
    std::vector<const ServingCase*> rows;
    for (const auto& c : cases)
      if (c.machine.id == id) rows.push_back(&c);
    ASSERT_EQ(rows.size(), p->data["rows"].get<size_t>());
    const Calibration fitted = fit(rows, o);
    EXPECT_NEAR(fitted.params.gemm_efficiency, p->params.gemm_efficiency, 1e-6 * p->params.gemm_efficiency) << id;
    EXPECT_NEAR(fitted.params.memory_efficiency, p->params.memory_efficiency, 1e-6) << id;
    EXPECT_NEAR(fitted.params.compute_power, p->params.compute_power, 1e-6 * p->params.compute_power) << id;
    EXPECT_NEAR(fitted.params.step_overhead_s, p->params.step_overhead_s, 1e-6 * p->params.step_overhead_s) << id;
    EXPECT_NEAR(fitted.params.admission_overhead_s, p->params.admission_overhead_s, 1e-6 * p->params.admission_overhead_s) << id;
    EXPECT_NEAR(fitted.params.kernel_gap_s, p->params.kernel_gap_s, 1e-6 * p->params.kernel_gap_s) << id;
  }
}

TEST(ServingPredictorTest, MachinesWithoutDataAreSpecOnlyAndSaySo) {
  const auto& available = shipped_serving_predictors();
  auto a100 = predictor_for(machines::find_machine("a100-sxm4-40gb").value(), available).value();
  EXPECT_TRUE(a100.calibrated);
  EXPECT_NE(a100.basis.find("calibrated"), std::string::npos);
  auto b200 = predictor_for(machines::find_machine("b200").value(), available).value();
  EXPECT_FALSE(b200.calibrated);
  EXPECT_NE(b200.basis.find("spec sheet"), std::string::npos) << b200.basis;
  EXPECT_NE(b200.basis.find("a100-sxm4-40gb"), std::string::npos) << b200.basis;
  ASSERT_TRUE(b200.intervals.energy.has_value());
  // The carried interval is at least as wide as either machine's own.
  EXPECT_GE(b200.intervals.energy->high - b200.intervals.energy->low, 0.0);
  EXPECT_LE(b200.intervals.energy->low, shipped("a100-sxm4-40gb")->carried_intervals.energy->low);
  // A predictor made for another machine is carried over too.
  auto carried = predictor_for(machines::find_machine("h100-sxm5-80gb").value(), available, shipped("a100-sxm4-40gb"));
  EXPECT_FALSE(carried->calibrated);
  EXPECT_NE(carried->basis.find("carried over from a100-sxm4-40gb"), std::string::npos);
  // With nothing calibrated: first guesses, and no interval.
  auto bare = predictor_for(machines::find_machine("l4").value(), {}).value();
  EXPECT_FALSE(bare.intervals.energy.has_value());
}

TEST(ServingPredictorTest, AnswersCarryIntervalsOrNull) {
  auto cfg = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  const auto machine = machines::find_machine("h100-sxm5-80gb").value();
  auto p = predictor_for(machine, shipped_serving_predictors()).value();
  ServingConfig s{64, 512, 256, 1, 1, ""};
  auto e = ServingWorkload::build(cfg, s).value().estimate(machine, p.params).value();
  nlohmann::json doc = serving_answer(cfg, machine, s, e, p);
  for (const char* k : {"energy_per_output_token_j", "energy_per_request_j", "power_w", "tpot_s", "throughput_tokens_per_s"}) {
    ASSERT_TRUE(doc["intervals"][k].is_array()) << k;
    EXPECT_LT(doc["intervals"][k][0].get<double>(), doc["intervals"][k][1].get<double>()) << k;
  }
  p.intervals.power.reset();
  EXPECT_TRUE(serving_answer(cfg, machine, s, e, p)["intervals"]["power_w"].is_null());
}

TEST(ServingPredictorTest, FilesRoundTripAndBadOnesAreNamed) {
  const auto dir = std::filesystem::temp_directory_path() / "irene_serving_predictor_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "p.json").string();
  ASSERT_TRUE(save_serving_predictor(*shipped("a100-sxm4-40gb"), path).is_ok());
  auto back = load_serving_predictor(path);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->machine_id, "a100-sxm4-40gb");
  EXPECT_DOUBLE_EQ(back->params.memory_efficiency, shipped("a100-sxm4-40gb")->params.memory_efficiency);
  nlohmann::json doc = to_json(*back);
  doc["params"]["memory_efficiency"] = 3;
  auto bad = serving_predictor_from_json(doc, "x.json");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("efficiencies"), std::string::npos);
  doc = to_json(*back);
  doc["intervals"]["power"] = nlohmann::json::array({1, 0});
  EXPECT_NE(serving_predictor_from_json(doc, "x.json").status().message().find("intervals.power"), std::string::npos);
  EXPECT_FALSE(load_serving_predictor((dir / "missing.json").string()).is_ok());
  std::filesystem::remove_all(dir);
}

// Files made before the gap between queued kernels was fitted read it as not fitted (every
// kernel costs its launch, as then), and a machine carried over from such a file as well.
TEST(ServingPredictorTest, OlderFilesWithoutAKernelGapCostEveryLaunch) {
  const ServingPredictor& a100 = *shipped("a100-sxm4-40gb");
  EXPECT_GE(a100.params.kernel_gap_s, 0);
  nlohmann::json doc = to_json(a100);
  doc["params"].erase("kernel_gap_s");
  auto older = serving_predictor_from_json(doc, "older.json");
  ASSERT_TRUE(older.is_ok()) << older.status().to_string();
  EXPECT_LT(older->params.kernel_gap_s, 0);
  EXPECT_FALSE(to_json(*older)["params"].contains("kernel_gap_s"));  // written back as it was read
  auto carried = predictor_for(machines::find_machine("b200").value(), {a100, *older}).value();
  EXPECT_LT(carried.params.kernel_gap_s, 0);
  EXPECT_GT(carried.params.kernel_overhead_s, 0);
  doc["params"]["kernel_gap_s"] = -1;
  EXPECT_NE(serving_predictor_from_json(doc, "x.json").status().message().find("kernel_gap_s"), std::string::npos);
}

}  // namespace
}  // namespace irene::serving
