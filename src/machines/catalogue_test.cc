#include "machines/catalogue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <tuple>

#include "machines/machine_specs.h"

namespace irene::machines {
namespace {

namespace fs = std::filesystem;

TEST(CatalogueTest, EveryShippedSpecParsesAndSaysWhereEachFigureComesFrom) {
  const auto files = machine_spec_files();
  ASSERT_GE(files.size(), 11u);
  for (const auto& f : files) {
    auto doc = nlohmann::json::parse(f.text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << f.name;
    auto m = spec_from_json(doc);
    ASSERT_TRUE(m.is_ok()) << f.name << ": " << m.status().to_string();
    EXPECT_EQ(m->id, std::string(f.name)) << "file name and id agree";
    EXPECT_EQ(m->kind, "gpu");
    ASSERT_TRUE(m->peak_flops.count("float32")) << f.name;
    EXPECT_GT(m->peak_flops.at("float32"), 1e12) << f.name;
    ASSERT_TRUE(m->memory_bandwidth_bytes_per_s.has_value()) << f.name;
    EXPECT_GT(*m->memory_bandwidth_bytes_per_s, 1e11) << f.name;
    ASSERT_TRUE(m->tdp_w.has_value()) << f.name;
    for (const char* figure : {"peak_flops", "memory_bandwidth_bytes_per_s", "memory_bytes", "tdp_w"})
      EXPECT_TRUE(m->sources.contains(figure) && !m->sources[figure].get<std::string>().empty())
          << f.name << " gives no source for " << figure;
    // Dense figures: no tensor rate of a catalogued part reaches 5 PFLOP/s dense at 16 bits.
    if (m->peak_flops.count("bfloat16")) {
      EXPECT_LT(m->peak_flops.at("bfloat16"), 5e15) << f.name;
    }
  }
}

TEST(CatalogueTest, FindsMachinesAndNamesTheOnesThatExist) {
  auto h100 = find_machine("h100-sxm5-80gb");
  ASSERT_TRUE(h100.is_ok()) << h100.status().to_string();
  EXPECT_GT(*h100->peak_for("bfloat16"), *h100->peak_for("float32"));
  auto missing = find_machine("tpu-v9");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("a100-sxm4-40gb"), std::string::npos);
  EXPECT_NE(missing.status().message().find("this-cpu"), std::string::npos);
  // A Pascal card has no bfloat16: the nearest type it computes in answers.
  auto pascal = find_machine("gtx-1080-ti").value();
  EXPECT_FALSE(pascal.peak_flops.count("bfloat16"));
  EXPECT_TRUE(pascal.peak_for("bfloat16").has_value());
}

// Datasets and drivers name GPUs their own way: "B200-180GB", "NVIDIA H100 80GB HBM3".
TEST(CatalogueTest, GpusAreFoundByTheirOtherNames) {
  EXPECT_EQ(find_machine_named("B200-180GB")->id, "b200");
  EXPECT_EQ(find_machine_named("H100-SXM5-80GB")->id, "h100-sxm5-80gb");
  EXPECT_EQ(find_machine_named("NVIDIA H100 80GB HBM3")->id, "h100-sxm5-80gb");
  EXPECT_EQ(find_machine_named("a100 sxm4 40gb")->id, "a100-sxm4-40gb");
  auto unknown = find_machine_named("Z9000-1TB");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("'Z9000-1TB'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("b200"), std::string::npos);
  // No alias names two machines.
  std::map<std::string, std::string> owner;
  for (const auto& m : catalogue())
    for (const auto& a : m.aliases) {
      EXPECT_FALSE(owner.count(a)) << a << " names " << owner[a] << " and " << m.id;
      owner[a] = m.id;
    }
  // The B200's FP4 tensor cores (NVFP4 GEMMs run at their peak).
  EXPECT_DOUBLE_EQ(find_machine("b200")->peak_flops.at("fp4"), 9e15);
}

TEST(CatalogueTest, TheHostCpuFromTheOperatingSystem) {
  const fs::path root = fs::path(IRENE_BINARY_DIR) / "fake-os";
  fs::create_directories(root / "proc");
  fs::create_directories(root / "sys/devices/system/cpu/cpu0/cpufreq");
  std::ofstream(root / "proc/cpuinfo") << "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse avx2 fma\n";
  std::ofstream(root / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") << "3000000\n";
  std::ofstream(root / "proc/meminfo") << "MemTotal:       16384 kB\nMemFree:  100 kB\n";
  for (auto [index, level, type, size] : {std::tuple{0, "1", "Data", "32K"}, {1, "1", "Instruction", "32K"},
                                          {2, "2", "Unified", "1024K"}, {3, "3", "Unified", "32768K"}}) {
    const auto dir = root / ("sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "level") << level << "\n";
    std::ofstream(dir / "type") << type << "\n";
    std::ofstream(dir / "size") << size << "\n";
  }
  const MachineSpec cpu = host_cpu(root.string());
  EXPECT_EQ(cpu.cache_bytes, (std::vector<double>{32768, 1048576, 33554432})) << "data caches, smallest first";
  EXPECT_NE(cpu.sources["cache_bytes"].get<std::string>().find("L3 32768K"), std::string::npos);
  EXPECT_EQ(cpu.name, "Test CPU 9000");
  EXPECT_EQ(cpu.kind, "cpu");
  const double threads = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_DOUBLE_EQ(cpu.peak_flops.at("float32"), threads * 3e9 * 8 * 2 * 2);  // AVX2 + FMA
  EXPECT_DOUBLE_EQ(*cpu.memory_bytes, 16384.0 * 1024);
  EXPECT_FALSE(cpu.memory_bandwidth_bytes_per_s.has_value()) << "the OS does not say: empty, not 0";
  EXPECT_FALSE(cpu.tdp_w.has_value());
  const nlohmann::json j = to_json(cpu);
  EXPECT_TRUE(j["memory_bandwidth_bytes_per_s"].is_null());
}

}  // namespace
}  // namespace irene::machines
