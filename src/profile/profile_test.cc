#include "profile/profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "models/zoo.h"
#include "predict/crossval.h"
#include "predict/dataset.h"
#include "predict/predictor.h"
#include "profile/calibrate.h"
#include "profile/sampler.h"

namespace irene::profile {
namespace {

namespace fs = std::filesystem;

// A powercap tree whose package counter a writer thread advances at `watts`,
// wrapping at `max_uj`, as the kernel's RAPL driver would.
class FakePowercap {
 public:
  FakePowercap(const std::string& name, double watts, uint64_t max_uj = 262143328850ULL)
      : root_(std::string(IRENE_BINARY_DIR) + "/fake_sysfs_" + name), max_uj_(max_uj) {
    fs::remove_all(root_);
    zone_ = root_ + "/class/powercap/intel-rapl:0";
    fs::create_directories(zone_);
    std::ofstream(zone_ + "/name") << "package-0\n";
    std::ofstream(zone_ + "/max_energy_range_uj") << max_uj_ << "\n";
    write(max_uj_ - 2'000'000);  // starts close to a wraparound
    writer_ = std::thread([this, watts] {
      // The counter follows the clock, not the number of wake-ups, so a busy machine
      // that wakes this thread late still sees `watts`.
      const uint64_t first = max_uj_ - 2'000'000;
      const auto start = std::chrono::steady_clock::now();
      while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        write((first + static_cast<uint64_t>(watts * us)) % max_uj_);  // W x us = uJ
      }
    });
  }
  ~FakePowercap() {
    stop_ = true;
    writer_.join();
  }
  const std::string& root() const { return root_; }

 private:
  void write(uint64_t uj) {
    // Replace the file at once, so a reader never sees half a number.
    std::ofstream(zone_ + "/energy_uj.tmp") << uj << "\n";
    fs::rename(zone_ + "/energy_uj.tmp", zone_ + "/energy_uj");
  }
  std::string root_, zone_;
  uint64_t max_uj_;
  std::atomic<bool> stop_{false};
  std::thread writer_;
};

// Options that find no meter: no powercap or perf PMU under the sysfs root, no NVML.
void without_meters(ProfileOptions& o) {
  o.sysfs_root = std::string(IRENE_BINARY_DIR) + "/no_such_sysfs";
  o.nvml_library = "libnvidia-ml-absent.so";
}

ProfileOptions quick(int64_t b, int64_t s) {
  ProfileOptions o;
  o.batch_size = b;
  o.seq_len = s;
  o.seconds_per_node = 0.03;
  o.rounds = 2;
  o.sample_period_s = 0.01;
  return o;
}

TEST(ProfileTest, EveryNodeGetsLatencyResourcesAndMeteredEnergy) {
  FakePowercap meter("profile", 50.0);
  ProfileOptions o = quick(1, 8);
  o.sysfs_root = meter.root();
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->header["meters"].size(), 1u);
  EXPECT_GT(r->header["nodes_reused"].get<int>(), 0);
  int with_energy = 0;
  for (const auto& n : r->tree.nodes) {
    if (n.kind == tree::NodeKind::kMath) continue;
    ASSERT_TRUE(n.measured.has_value()) << n.path;
    EXPECT_GT(n.measured->times_mean_s, 0) << n.path;
    if (!n.measured->energy_j) continue;
    ++with_energy;
    // One meter: the breakdown by meter is that meter's reading.
    ASSERT_EQ(n.measured->energy_by_meter_j.size(), 1u) << n.path;
    EXPECT_DOUBLE_EQ(n.measured->energy_by_meter_j.at("rapl:package-0"), *n.measured->energy_j);
    // 50 W for the node's time per run, give or take the 1 ms counter steps.
    EXPECT_NEAR(*n.measured->energy_j, 50.0 * n.measured->times_mean_s, 0.5 * 50.0 * n.measured->times_mean_s + 2e-3)
        << n.path;
  }
  EXPECT_GT(with_energy, 0);
  const auto& root = r->tree.root();
  EXPECT_GT(root.measured->times_mean_s, r->tree.nodes[r->tree.find("h.0", "Block")].measured->times_mean_s);
}

// Every round runs every node in turn, the machine's speed probed at the start of each;
// a node's fastest round is kept beside its mean.
TEST(ProfileTest, RoundsSpreadOverTheProfileAndKeepTheFastest) {
  ProfileOptions o = quick(1, 4);
  without_meters(o);
  o.rounds = 4;
  o.seconds_per_node = 0.005;
  std::vector<std::pair<int, int>> progress;
  o.progress = [&](int done, int total) { progress.emplace_back(done, total); };
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto& speed = r->header["speed_probe"];
  ASSERT_EQ(speed["flop_per_s_by_round"].size(), 4u);
  for (const auto& v : speed["flop_per_s_by_round"]) EXPECT_GT(v.get<double>(), 0);
  EXPECT_DOUBLE_EQ(speed["flops"].get<double>(), 2.0 * 32 * 768 * 768);
  int measured = 0;
  for (const auto& n : r->tree.nodes) {
    if (!n.measured) continue;
    ++measured;
    ASSERT_TRUE(n.measured->times_min_s.has_value()) << n.path;
    EXPECT_GT(*n.measured->times_min_s, 0) << n.path;
    EXPECT_LE(*n.measured->times_min_s, n.measured->times_mean_s) << n.path;
  }
  // Progress counts every node once per round, and ends at the total.
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second);
  EXPECT_EQ(progress.back().second, measured * 4);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
  // One round's progress reaches every node before the next round starts: after the first
  // round, a quarter of the total.
  EXPECT_NE(std::find(progress.begin(), progress.end(), std::make_pair(measured, measured * 4)), progress.end());
}

// Q x K^T ([1,4,8,64] x [1,4,64,8]) and weights x V ([1,4,8,8] x [1,4,8,64]) have the same
// FLOPs and bytes but not the same shapes: each is measured. The same op in the next layer
// is identical, and reuses the first one's measurement.
TEST(ProfileTest, ReuseNeedsTheSameShapesNotOnlyTheSameCounts) {
  ProfileOptions o = quick(1, 8);
  without_meters(o);
  o.level = "ml";
  auto r = profile_model(models::bundled_config("google/bert_uncased_L-4_H-256_A-4").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const tree::Tree& t = r->tree;
  auto node = [&](const std::string& path) -> const tree::Node& { return t.nodes[t.find(path, "MatMul")]; };
  const tree::Node& qk = node("encoder.layer.0.attention.self.matmul");
  const tree::Node& wv = node("encoder.layer.0.attention.self.matmul_1");
  ASSERT_EQ(qk.flops, wv.flops);
  ASSERT_EQ(qk.mem_bytes, wv.mem_bytes);
  ASSERT_TRUE(qk.measured && wv.measured);
  EXPECT_NE(qk.measured->times_mean_s, wv.measured->times_mean_s) << "measured apart";
  const tree::Node& qk1 = node("encoder.layer.1.attention.self.matmul");
  ASSERT_TRUE(qk1.measured);
  EXPECT_EQ(qk1.measured->times_mean_s, qk.measured->times_mean_s) << "reused";
}

TEST(ProfileTest, WithoutAMeterEnergyIsEmptyAndTheHeaderSaysWhy) {
  ProfileOptions o = quick(1, 4);
  without_meters(o);
  o.level = "model";
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->tree.root().measured->energy_j.has_value());
  EXPECT_NE(r->header["meter_summary"].get<std::string>().find("no energy meter found (looked for:"), std::string::npos);
  // ... and so does the node itself.
  EXPECT_NE(r->tree.root().measured->energy_note.find("no energy meter found (looked for:"), std::string::npos);
  // Only the model level was asked for.
  EXPECT_FALSE(r->tree.nodes[r->tree.find("h.0", "Block")].measured.has_value());
}

// Nodes much shorter than the sampler's period still get the machine's figures, and a
// machine without a GPU reports no GPU figures rather than zeros.
TEST(ProfileTest, ShortNodesGetResourceFiguresAndNoGpuMeansEmpty) {
  ProfileOptions o = quick(1, 4);
  without_meters(o);
  o.seconds_per_node = 0.002;
  o.rounds = 1;
  o.sample_period_s = 0.1;
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  int checked = 0;
  for (const auto& n : r->tree.nodes) {
    if (!n.measured) continue;
    ++checked;
    EXPECT_TRUE(n.measured->cpu_pct.has_value()) << n.path << ":" << n.cls;
    EXPECT_TRUE(n.measured->mem_pct.has_value()) << n.path << ":" << n.cls;
    EXPECT_FALSE(n.measured->gpu_pct.has_value());
    EXPECT_FALSE(n.measured->gpu_clk_mhz.has_value());
    EXPECT_FALSE(n.measured->gpu_energy_j.has_value());
  }
  EXPECT_GT(checked, 20);
  const std::string csv = profile_csv(r->tree);
  const std::string root_line = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
  // gpu_pct, gpu_mem_pct, gpu_clk_mhz, gpu_mem_clk_mhz, gpu_energy_j, energy_j: all empty.
  EXPECT_EQ(root_line.substr(root_line.size() - 6), ",,,,,,") << root_line;
}

// A machine with an NVIDIA GPU (the fake libnvidia-ml the meters' tests build): every
// profiled node gets the GPU's utilisation, memory and clocks from the sampler, and GPU
// energy from its counter. The model itself runs on the CPU here; the data path is the
// one a --device cuda profile uses.
TEST(ProfileTest, WithAGpuNodesGetGpuFiguresAndEnergy) {
  ProfileOptions o = quick(1, 4);
  without_meters(o);
  o.nvml_library = FAKE_NVML_PATH;
  o.level = "module";
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->header["machine"]["gpu"], "Fake GPU");
  ASSERT_EQ(r->header["meters"].size(), 1u);
  EXPECT_EQ(r->header["meters"][0]["name"], "nvml:gpu0");
  EXPECT_EQ(r->header["meters"][0]["measures"], "gpu board");
  int checked = 0;
  for (const auto& n : r->tree.nodes) {
    if (!n.measured) continue;
    ++checked;
    const tree::Measurement& m = *n.measured;
    ASSERT_TRUE(m.gpu_pct && m.gpu_mem_pct && m.gpu_clk_mhz && m.gpu_mem_clk_mhz) << n.path;
    EXPECT_DOUBLE_EQ(*m.gpu_pct, 87);        // the fake's utilisation
    EXPECT_DOUBLE_EQ(*m.gpu_mem_pct, 25);    // 4 of 16 GiB
    EXPECT_DOUBLE_EQ(*m.gpu_clk_mhz, 1410);
    EXPECT_DOUBLE_EQ(*m.gpu_mem_clk_mhz, 1215);
    ASSERT_TRUE(m.gpu_energy_j && m.energy_j) << n.path << ": " << m.energy_note;
    EXPECT_GT(*m.gpu_energy_j, 0);
    EXPECT_DOUBLE_EQ(*m.energy_j, *m.gpu_energy_j);  // the only meter
    EXPECT_DOUBLE_EQ(m.energy_by_meter_j.at("nvml:gpu0"), *m.energy_j);
  }
  EXPECT_GT(checked, 5);
}

TEST(ProfileTest, CancelKeepsWhatFinished) {
  std::atomic<bool> cancel{false};
  ProfileOptions o = quick(1, 4);
  o.cancel = &cancel;
  o.progress = [&](int done, int) {
    if (done == 3) cancel = true;
  };
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->complete);
  EXPECT_FALSE(r->header["complete"].get<bool>());
  int measured = 0;
  for (const auto& n : r->tree.nodes) measured += n.measured.has_value();
  EXPECT_EQ(measured, 3);
}

TEST(ProfileTest, BadSettingsAreRejected) {
  ProfileOptions o = quick(1, 4);
  o.device = "cuda";
  EXPECT_EQ(validate_profile_options(o).code(), StatusCode::kUnsupported);  // Debian's libtorch: no CUDA
  // Where CUDA is there, cuda is accepted; names other than cpu and cuda never are.
  EXPECT_TRUE(validate_device("cuda", /*cuda_available=*/true).is_ok());
  EXPECT_TRUE(validate_device("cpu", /*cuda_available=*/false).is_ok());
  EXPECT_EQ(validate_device("cuda", /*cuda_available=*/false).code(), StatusCode::kUnsupported);
  const Status gpu = validate_device("gpu", /*cuda_available=*/true);
  EXPECT_EQ(gpu.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(gpu.message().find("device must be cpu or cuda, got 'gpu'"), std::string::npos);
  o = quick(1, 4);
  o.level = "layer";
  EXPECT_NE(validate_profile_options(o).message().find("ml, module, model or all"), std::string::npos);
  o = quick(1, 4);
  o.seconds_per_node = 0;
  EXPECT_FALSE(validate_profile_options(o).is_ok());
  o = quick(1, 4);
  o.threads = -1;
  EXPECT_NE(validate_profile_options(o).message().find("--threads must be from 1 to 1024"), std::string::npos);
}

// The header says how many CPU threads libtorch used, and --threads sets them.
TEST(ProfileTest, ThreadsAreSetAndReported) {
  ProfileOptions o = quick(1, 4);
  o.level = "model";
  o.threads = 2;
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->header["settings"]["threads"], 2);
  o.threads = 1;
  r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->header["settings"]["threads"], 1);
}

TEST(SamplerTest, SamplesAtItsPeriodAndCostsLittle) {
  ResourceSampler sampler(0.01, nullptr);
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto end = std::chrono::steady_clock::now();
  const ResourceSummary s = sampler.summarize({{begin, end}});
  EXPECT_GE(s.samples, 10);
  ASSERT_TRUE(s.mem_pct && s.cpu_pct);
  EXPECT_GT(*s.mem_pct, 0);
  EXPECT_LE(*s.cpu_pct, 100.0);
  EXPECT_FALSE(s.gpu_pct.has_value());  // no GPU was given
  EXPECT_LT(sampler.thread_cpu_seconds(), 0.3);
}

// A /proc and /sys the test writes: an ARM-like machine whose /proc/cpuinfo has no "cpu MHz".
class FakeProcfs {
 public:
  explicit FakeProcfs(const std::string& name) : root_(std::string(IRENE_BINARY_DIR) + "/fake_procfs_" + name) {
    fs::remove_all(root_);
    fs::create_directories(root_ + "/proc");
    std::ofstream(root_ + "/proc/stat") << "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n";
    std::ofstream(root_ + "/proc/meminfo") << "MemTotal:       1000 kB\nMemFree:         100 kB\n"
                                              "MemAvailable:    250 kB\n";
    std::ofstream(root_ + "/proc/cpuinfo") << "processor\t: 0\nBogoMIPS\t: 50.00\n";
    for (int cpu = 0; cpu < 2; ++cpu) {
      const std::string dir = root_ + "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq";
      fs::create_directories(dir);
      std::ofstream(dir + "/scaling_cur_freq") << (cpu == 0 ? 1000000 : 2000000) << "\n";  // kHz
    }
  }
  std::string proc() const { return root_ + "/proc"; }
  std::string sys() const { return root_ + "/sys"; }

 private:
  std::string root_;
};

TEST(SamplerTest, ReadsCpufreqWhenCpuinfoHasNoClock) {
  FakeProcfs fake("cpufreq");
  ResourceSampler sampler(0.01, nullptr, fake.proc(), fake.sys());
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  const auto end = std::chrono::steady_clock::now();
  const ResourceSummary s = sampler.summarize({{begin, end}});
  ASSERT_TRUE(s.cpu_mhz.has_value());
  EXPECT_DOUBLE_EQ(*s.cpu_mhz, 1500.0);  // mean of 1000 and 2000 MHz
  ASSERT_TRUE(s.mem_pct.has_value());
  EXPECT_DOUBLE_EQ(*s.mem_pct, 75.0);  // (1000 - 250) / 1000
}

TEST(SamplerTest, WhatCannotBeReadStaysEmpty) {
  const std::string missing = std::string(IRENE_BINARY_DIR) + "/no_such_procfs";
  ResourceSampler sampler(0.01, nullptr, missing, missing);
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const ResourceSummary s = sampler.summarize({{begin, std::chrono::steady_clock::now()}});
  EXPECT_GT(s.samples, 0);
  EXPECT_FALSE(s.cpu_pct.has_value());
  EXPECT_FALSE(s.mem_pct.has_value());
  EXPECT_FALSE(s.cpu_mhz.has_value());
}

// A window shorter than the period holds no sample: it gets the one taken next, whose
// period covers the window's end, instead of zeros.
TEST(SamplerTest, AShortWindowGetsTheSampleCoveringIt) {
  ResourceSampler sampler(0.2, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the first sample
  const auto begin = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto end = std::chrono::steady_clock::now();
  sampler.wait_past(end);
  const ResourceSummary s = sampler.summarize({{begin, end}});
  EXPECT_EQ(s.samples, 1);
  EXPECT_TRUE(s.cpu_pct.has_value());
  EXPECT_TRUE(s.mem_pct.has_value());
}

// Calibration of `models` at batch sizes 1 and 2, sequence length 8, one round, into a
// fresh build/<dir>, measured by `meter`.
CalibrateOptions small_calibration(std::vector<std::string> models, const std::string& dir,
                                   const FakePowercap& meter, double seconds_per_node) {
  CalibrateOptions o;
  o.models = std::move(models);
  o.batch_sizes = {1, 2};
  o.seq_lens = {8};
  o.out_dir = std::string(IRENE_BINARY_DIR) + "/" + dir;
  fs::remove_all(o.out_dir);
  o.profile = quick(1, 1);
  o.profile.seconds_per_node = seconds_per_node;
  o.profile.rounds = 1;
  o.profile.sysfs_root = meter.root();
  return o;
}

// Calibrate with a (fake) meter, then train and predict on what it wrote.
TEST(CalibrateTest, RoundTripThroughTheIreneLayout) {
  FakePowercap meter("calibrate", 40.0);
  // Two models that share their op types, so each can be held out in cross-validation.
  // Windows of tens of milliseconds: the fake counter steps every millisecond. (0.04 s
  // windows lost a model-level reading now and then on a 2-core machine; the cause was not
  // pinned down, and machine.json's meter_notes now say why a reading is missing.)
  CalibrateOptions o = small_calibration({"google/bert_uncased_L-4_H-256_A-4", "bert-base-uncased"}, "calibrated",
                                         meter, 0.08);
  ASSERT_TRUE(calibrate(o).is_ok());
  EXPECT_TRUE(fs::exists(o.out_dir + "/machine.json"));

  auto data = predict::load_dataset(o.out_dir);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_EQ(data->trees.size(), 4u);
  std::vector<const tree::Tree*> trees;
  for (const auto& t : data->trees) trees.push_back(&t);
  auto p = predict::Predictor::train(trees, {});
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  auto t = models::trace_model(models::bundled_config("bert-base-uncased").value(), {4, 8, true}).value();
  ASSERT_TRUE(p->predict(t).is_ok());
  EXPECT_GT(*t.root().energy_j, 0);
  predict::CrossvalOptions co;
  co.seeds = 1;
  auto cv = predict::crossval(*data, co);
  EXPECT_TRUE(cv.is_ok()) << cv.status().to_string();
}

// Stopped part-way, calibration keeps the configurations it finished, and says so.
TEST(CalibrateTest, CancelKeepsTheFinishedConfigurations) {
  FakePowercap meter("calibrate_cancel", 40.0);
  std::atomic<bool> cancel{false};
  CalibrateOptions o = small_calibration({"google/bert_uncased_L-4_H-256_A-4"}, "calibrated_cancel", meter, 0.01);
  o.profile.cancel = &cancel;
  o.progress = [&](int done, int, const std::string&) {
    if (done == 1) cancel = true;  // while the second configuration starts
  };
  const Status s = calibrate(o);
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_NE(s.message().find("the 1 of 2 configurations finished before are in " + o.out_dir), std::string::npos)
      << s.message();
  auto data = predict::load_dataset(o.out_dir);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  ASSERT_EQ(data->trees.size(), 1u);
  EXPECT_EQ(data->trees[0].batch_size, 1);
  std::ifstream machine(o.out_dir + "/machine.json");
  const nlohmann::json m = nlohmann::json::parse(machine);
  EXPECT_FALSE(m["complete"].get<bool>());
  EXPECT_EQ(m["configurations"], 1);
}

TEST(CalibrateTest, NeedsAMeter) {
  CalibrateOptions o;
  o.models = {"distilgpt2"};
  o.batch_sizes = {1};
  o.seq_lens = {4};
  o.out_dir = std::string(IRENE_BINARY_DIR) + "/calibrated_nometer";
  without_meters(o.profile);
  Status s = calibrate(o);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("no energy meter found"), std::string::npos);
}

}  // namespace
}  // namespace irene::profile

namespace irene::profile {
namespace {

// A meter whose power never changes: once idle power is subtracted, nothing is left.
TEST(ProfileTest, SubtractIdleRemovesConstantPower) {
  FakePowercap meter("idle", 30.0);
  ProfileOptions o = quick(1, 4);
  o.sysfs_root = meter.root();
  o.level = "model";
  o.subtract_idle = true;
  auto r = profile_model(models::bundled_config("distilgpt2").value(), o);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const tree::Measurement& m = *r->tree.root().measured;
  ASSERT_TRUE(m.energy_j.has_value());
  EXPECT_LT(std::fabs(*m.energy_j), 0.2 * 30.0 * m.times_mean_s + 2e-3);
  EXPECT_TRUE(r->header["settings"]["subtract_idle"].get<bool>());
}

}  // namespace
}  // namespace irene::profile
