// Energy meters against fake sysfs trees and a fake NVML library; and, without asserting
// what it finds, against this machine's real /sys.
#include <dlfcn.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "profile/meters/fake_nvml.h"
#include "profile/meters/meter.h"
#include "profile/meters/perf_power.h"

namespace irene::profile {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// ---- helpers ----------------------------------------------------------------------------

// A fresh folder under the build tree, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(IRENE_BINARY_DIR) / "meters_test_tmp" /
            (std::string(test->test_suite_name()) + "." + test->name() + "." + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes through a temporary file and rename(), as the kernel's sysfs appears to readers:
// a reader sees the old or the new value, never half a number.
void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  fs::rename(tmp, path);
}

// A powercap zone folder: <root>/class/powercap/<zone>/{name,energy_uj,max_energy_range_uj}.
fs::path make_zone(const fs::path& root, const std::string& zone, const std::string& name,
                   uint64_t max_range_uj, uint64_t energy_uj) {
  fs::path dir = root / "class/powercap" / zone;
  write_file(dir / "name", name + "\n");
  write_file(dir / "max_energy_range_uj", std::to_string(max_range_uj) + "\n");
  write_file(dir / "energy_uj", std::to_string(energy_uj) + "\n");
  return dir;
}

// The usual tree: package 0 with dram and core subzones, and a psys zone.
struct FakePowercap {
  fs::path package, dram;
};
FakePowercap make_powercap(const fs::path& root, uint64_t package_max = 2'000'000, uint64_t package_start = 1000,
                           uint64_t dram_max = 400'000, uint64_t dram_start = 1000) {
  FakePowercap tree;
  tree.package = make_zone(root, "intel-rapl:0", "package-0", package_max, package_start);
  tree.dram = make_zone(root, "intel-rapl:0:0", "dram", dram_max, dram_start);
  make_zone(root, "intel-rapl:0:1", "core", 1'000'000, 5);
  make_zone(root, "intel-rapl:1", "psys", 1'000'000, 5);
  return tree;
}

// Advances energy_uj files at a fixed rate from wall-clock time (so a late wake-up catches
// up instead of losing energy), wrapping at each zone's max_energy_range_uj.
class CounterWriter {
 public:
  struct Counter {
    fs::path energy_file;
    uint64_t start_uj;
    uint64_t uj_per_ms;
    uint64_t max_range_uj;
  };

  explicit CounterWriter(std::vector<Counter> counters) : counters_(std::move(counters)) {
    thread_ = std::thread([this] { run(); });
  }
  ~CounterWriter() {
    stop_ = true;
    thread_.join();
  }
  // How many times any counter has wrapped so far.
  int wraps() const { return wraps_; }

 private:
  void run() {
    const auto t0 = Clock::now();
    std::vector<uint64_t> last(counters_.size());
    for (size_t i = 0; i < counters_.size(); ++i) last[i] = counters_[i].start_uj;
    while (!stop_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
      for (size_t i = 0; i < counters_.size(); ++i) {
        const Counter& c = counters_[i];
        uint64_t value = (c.start_uj + c.uj_per_ms * static_cast<uint64_t>(ms)) % c.max_range_uj;
        if (value < last[i]) ++wraps_;
        last[i] = value;
        write_file(c.energy_file, std::to_string(value) + "\n");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  std::vector<Counter> counters_;
  std::atomic<bool> stop_{false};
  std::atomic<int> wraps_{0};
  std::thread thread_;
};

EnergyMeter* find_meter(const EnergyMeters& meters, const std::string& name) {
  for (const auto& m : meters)
    if (m->name() == name) return m.get();
  return nullptr;
}

// ---- RAPL powercap ----------------------------------------------------------------------

TEST(RaplPowercapTest, OpensPackageAndDramZonesOnly) {
  TempDir root;
  make_powercap(root.path());
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();
  ASSERT_EQ(meters->size(), 2u);
  EXPECT_EQ((*meters)[0]->name(), "rapl:package-0");
  EXPECT_EQ((*meters)[0]->what(), "cpu package");
  EXPECT_EQ((*meters)[1]->name(), "rapl:package-0/dram");
  EXPECT_EQ((*meters)[1]->what(), "dram");
  for (const auto& meter : *meters) {
    EXPECT_DOUBLE_EQ(meter->resolution_j(), 1e-6);
    EXPECT_DOUBLE_EQ(meter->update_period_s(), 1e-3);
    auto first = meter->read_energy_j();
    ASSERT_TRUE(first.is_ok()) << first.status().to_string();
    EXPECT_EQ(*first, 0.0) << "energy counts from when the meter was opened";
  }
}

TEST(RaplPowercapTest, FindsSubzonesNestedInTheirPackage) {
  // Some trees only have intel-rapl:0/intel-rapl:0:0, not the top-level link.
  TempDir root;
  make_zone(root.path(), "intel-rapl:0", "package-0", 1'000'000, 10);
  fs::path nested = root.path() / "class/powercap/intel-rapl:0/intel-rapl:0:0";
  write_file(nested / "name", "dram\n");
  write_file(nested / "max_energy_range_uj", "1000000\n");
  write_file(nested / "energy_uj", "10\n");
  auto meters = open_rapl_meters(root.str() + "/");  // a trailing slash is fine too
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();
  ASSERT_EQ(meters->size(), 2u);
  EXPECT_EQ((*meters)[1]->name(), "rapl:package-0/dram");
}

TEST(RaplPowercapTest, UnwrapsTheCounterExactly) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path(), /*package_max=*/1'000'000, /*package_start=*/990'000);
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();
  EnergyMeter* package = find_meter(*meters, "rapl:package-0");
  ASSERT_NE(package, nullptr);

  write_file(tree.package / "energy_uj", "995000\n");
  EXPECT_NEAR(*package->read_energy_j(), 0.005, 1e-12);
  write_file(tree.package / "energy_uj", "5000\n");  // wrapped: 5000 + 1e6 - 995000 = 10000 uJ more
  EXPECT_NEAR(*package->read_energy_j(), 0.015, 1e-12);
  write_file(tree.package / "energy_uj", "6000\n");
  EXPECT_NEAR(*package->read_energy_j(), 0.016, 1e-12);
}

TEST(RaplPowercapTest, MeasuresAKnownRateAcrossAWraparound) {
  TempDir root;
  // package: 1000 uJ/ms = 1 W, wraps 200 ms in; dram: 250 uJ/ms = 0.25 W, wraps 200 ms in.
  // Both ranges exceed what a 1 s window adds, as real ranges (~262 kJ) do by far.
  constexpr uint64_t kPackageMax = 2'000'000, kPackageStart = 1'800'000, kPackageRate = 1000;
  constexpr uint64_t kDramMax = 400'000, kDramStart = 350'000, kDramRate = 250;
  FakePowercap tree = make_powercap(root.path(), kPackageMax, kPackageStart, kDramMax, kDramStart);
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();

  CounterWriter writer({{tree.package / "energy_uj", kPackageStart, kPackageRate, kPackageMax},
                        {tree.dram / "energy_uj", kDramStart, kDramRate, kDramMax}});
  auto window = MeterWindow::begin(std::vector<EnergyMeter*>{(*meters)[0].get(), (*meters)[1].get()});
  const int wraps_before = writer.wraps();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto energies = window.end();
  const int wraps_after = writer.wraps();

  EXPECT_EQ(wraps_before, 0) << "the wrap must fall inside the window";
  EXPECT_GE(wraps_after, 2) << "both counters should have wrapped during the window";
  ASSERT_EQ(energies.size(), 2u);
  const double rates_w[] = {kPackageRate * 1e-3, kDramRate * 1e-3};  // uJ/ms -> J/s
  for (size_t i = 0; i < 2; ++i) {
    const WindowEnergy& e = energies[i];
    ASSERT_TRUE(e.energy_j.has_value()) << e.meter << ": " << e.note;
    EXPECT_FALSE(e.shorter_than_update_period);
    const double expected = rates_w[i] * e.seconds;
    // The writer updates every ~1 ms and may be descheduled on a busy 2-core machine:
    // allow 10 % (100 ms of lag at 1 s); a lost wrap would be off by the whole range.
    EXPECT_NEAR(*e.energy_j, expected, 0.10 * expected)
        << e.meter << " over " << e.seconds << " s";
  }
}

TEST(RaplPowercapTest, ConcurrentReadsStayMonotonic) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path(), 100'000, 90'000);
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();
  EnergyMeter* package = (*meters)[0].get();
  CounterWriter writer({{tree.package / "energy_uj", 90'000, 1000, 100'000}});
  std::atomic<int> backwards{0}, failures{0};
  auto reader = [&] {
    double last = 0;
    for (int i = 0; i < 300; ++i) {
      auto e = package->read_energy_j();
      if (!e) {
        ++failures;
        continue;
      }
      if (*e < last) ++backwards;
      last = *e;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(backwards, 0);
}

TEST(RaplPowercapTest, EnergyFileThatIsADirectoryIsAnErrorNamingTheFile) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path());
  fs::remove(tree.package / "energy_uj");
  fs::create_directory(tree.package / "energy_uj");
  auto meters = open_rapl_meters(root.str());
  ASSERT_FALSE(meters.is_ok());
  EXPECT_EQ(meters.status().code(), StatusCode::kIoError);
  EXPECT_THAT(meters.status().message(), HasSubstr((tree.package / "energy_uj").string()));
  EXPECT_THAT(meters.status().message(), HasSubstr("Is a directory"));
}

TEST(RaplPowercapTest, DanglingEnergySymlinkIsAnErrorNamingTheFile) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path());
  fs::remove(tree.dram / "energy_uj");
  fs::create_symlink(root.path() / "nowhere", tree.dram / "energy_uj");
  auto meters = open_rapl_meters(root.str());
  ASSERT_FALSE(meters.is_ok());
  EXPECT_THAT(meters.status().message(), HasSubstr((tree.dram / "energy_uj").string()));
}

// Runs `open` in a child process as user nobody and returns what it said (ok, or the
// code and message); empty when this environment cannot switch users.
template <typename Open>
std::optional<Status> as_nobody(Open open) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return std::nullopt;
  pid_t child = ::fork();
  if (child < 0) return std::nullopt;
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);  // cannot drop privileges here
    const Status s = open();
    (void)!::write(pipe_fds[1], s.message().data(), s.message().size());
    ::_exit(s.is_ok() ? 0 : 10 + static_cast<int>(s.code()));
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 3) return std::nullopt;
  if (WEXITSTATUS(status) == 0) return Status::ok();
  return Status(static_cast<StatusCode>(WEXITSTATUS(status) - 10), message);
}

// The real "files exist but are not readable" case (EACCES). Root reads anything, so when
// the test runs as root it drops to `nobody` in a child process to see what a user sees.
TEST(RaplPowercapTest, PermissionDeniedSaysHowToFixIt) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path());
  fs::permissions(tree.package / "energy_uj", fs::perms::owner_read);  // 0400, as recent kernels do
  const std::string fix = "run as root or: sudo chmod o+r " + root.str() + "/class/powercap/intel-rapl:*/energy_uj";

  if (::geteuid() != 0) {
    // We own the file, so only mode 000 makes it unreadable to us.
    fs::permissions(tree.package / "energy_uj", fs::perms::none);
    auto meters = open_rapl_meters(root.str());
    fs::permissions(tree.package / "energy_uj", fs::perms::owner_all);  // so TempDir can clean up
    ASSERT_FALSE(meters.is_ok());
    EXPECT_THAT(meters.status().message(), HasSubstr((tree.package / "energy_uj").string()));
    EXPECT_THAT(meters.status().message(), HasSubstr(fix));
    return;
  }

  auto seen = as_nobody([&] { return open_rapl_meters(root.str()).status(); });
  if (!seen) GTEST_SKIP() << "cannot switch to user nobody in this environment";
  ASSERT_FALSE(seen->is_ok()) << "unexpectedly opened";
  const std::string message = seen->message();
  EXPECT_THAT(message, HasSubstr((tree.package / "energy_uj").string()));
  EXPECT_THAT(message, HasSubstr("Permission denied"));
  EXPECT_THAT(message, HasSubstr(fix));
}

TEST(RaplPowercapTest, AbsentTreeIsNotAvailable) {
  TempDir root;
  auto meters = open_rapl_meters(root.str());
  ASSERT_FALSE(meters.is_ok());
  EXPECT_EQ(meters.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(meters.status().message(),
            "RAPL powercap not available: " + root.str() + "/class/powercap does not exist");

  fs::create_directories(root.path() / "class/powercap/intel-rapl-mmio:0");
  meters = open_rapl_meters(root.str());
  ASSERT_FALSE(meters.is_ok());
  EXPECT_THAT(meters.status().message(), HasSubstr("no intel-rapl zones"));
}

TEST(RaplPowercapTest, CorruptCounterIsReported) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path());
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok());
  write_file(tree.package / "energy_uj", "12ab\n");
  auto e = (*meters)[0]->read_energy_j();
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kCorrupt);
  EXPECT_THAT(e.status().message(), HasSubstr("energy_uj"));
}

// ---- windows ----------------------------------------------------------------------------

// A meter with fixed properties; the judging rules do not read it.
class StubMeter final : public EnergyMeter {
 public:
  const std::string& name() const override { return name_; }
  const std::string& what() const override { return what_; }
  double resolution_j() const override { return 1e-6; }
  double update_period_s() const override { return 1e-3; }
  Result<double> read_energy_j() override { return 0.0; }

 private:
  std::string name_ = "stub", what_ = "cpu package";
};

TEST(MeterWindowTest, JudgesWindowsByTheUpdatePeriod) {
  StubMeter meter;
  WindowEnergy ok = judge_window(meter, 0.25, 0.5);
  EXPECT_EQ(ok.energy_j, 0.25);
  EXPECT_FALSE(ok.shorter_than_update_period);
  EXPECT_EQ(ok.note, "");

  WindowEnergy stuck = judge_window(meter, 0.0, 0.05);
  EXPECT_FALSE(stuck.energy_j.has_value());
  EXPECT_FALSE(stuck.shorter_than_update_period);
  EXPECT_THAT(stuck.note, HasSubstr("no reading"));
  EXPECT_THAT(stuck.note, HasSubstr("not zero energy"));

  WindowEnergy short_moved = judge_window(meter, 0.002, 0.0004);
  EXPECT_EQ(short_moved.energy_j, 0.002);
  EXPECT_TRUE(short_moved.shorter_than_update_period);
  EXPECT_THAT(short_moved.note, HasSubstr("shorter than stub's update period"));

  WindowEnergy short_still = judge_window(meter, 0.0, 0.0004);
  EXPECT_FALSE(short_still.energy_j.has_value()) << "a short window never reports 0 J";
  EXPECT_TRUE(short_still.shorter_than_update_period);
  EXPECT_THAT(short_still.note, HasSubstr("no reading"));
}

TEST(MeterWindowTest, MeterThatDoesNotMoveIsNoReadingNotZero) {
  TempDir root;
  make_powercap(root.path());  // nobody advances the counters
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok()) << meters.status().to_string();
  std::vector<EnergyMeter*> pointers;
  for (auto& m : *meters) pointers.push_back(m.get());

  auto window = MeterWindow::begin(pointers);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // 20x the 1 ms update period
  auto energies = window.end();
  ASSERT_EQ(energies.size(), 2u);
  for (const WindowEnergy& e : energies) {
    EXPECT_GE(e.seconds, 0.02);
    EXPECT_FALSE(e.energy_j.has_value()) << e.meter << " reported " << *e.energy_j << " J";
    EXPECT_FALSE(e.shorter_than_update_period);
    EXPECT_THAT(e.note, HasSubstr(e.meter + " did not change over"));
    EXPECT_THAT(e.note, HasSubstr("no reading"));
  }
}

TEST(MeterWindowTest, ReadFailureIsNoReadingWithTheError) {
  TempDir root;
  FakePowercap tree = make_powercap(root.path());
  auto meters = open_rapl_meters(root.str());
  ASSERT_TRUE(meters.is_ok());
  auto window = MeterWindow::begin({(*meters)[0].get()});
  fs::remove(tree.package / "energy_uj");
  auto energies = window.end();
  ASSERT_EQ(energies.size(), 1u);
  EXPECT_FALSE(energies[0].energy_j.has_value());
  EXPECT_THAT(energies[0].note, HasSubstr("no reading: at the end: cannot open"));
}

// ---- perf power PMU ---------------------------------------------------------------------

fs::path make_power_pmu(const fs::path& root, bool with_ram = true) {
  fs::path dir = root / "bus/event_source/devices/power";
  write_file(dir / "type", "4242\n");  // no real PMU has this number, so opening it fails
  write_file(dir / "cpumask", "0\n");
  write_file(dir / "format/event", "config:0-7\n");
  write_file(dir / "events/energy-pkg", "event=0x02\n");
  write_file(dir / "events/energy-pkg.scale", "2.3283064365386962890625e-10\n");
  write_file(dir / "events/energy-pkg.unit", "Joules\n");
  write_file(dir / "events/energy-cores", "event=0x01\n");
  if (with_ram) {
    write_file(dir / "events/energy-ram", "event=0x03\n");
    write_file(dir / "events/energy-ram.scale", "6.103515625e-5\n");
    write_file(dir / "events/energy-ram.unit", "Joules\n");
  }
  return dir;
}

TEST(PerfPowerTest, ParsesThePmuDescription) {
  TempDir root;
  make_power_pmu(root.path());
  auto pmu = detail::read_perf_power_pmu(root.str());
  ASSERT_TRUE(pmu.is_ok()) << pmu.status().to_string();
  EXPECT_EQ(pmu->dir, root.str() + "/bus/event_source/devices/power");
  EXPECT_THAT(pmu->cpus, ElementsAre(0));
  ASSERT_EQ(pmu->events.size(), 2u);
  EXPECT_EQ(pmu->events[0].event, "energy-pkg");
  EXPECT_EQ(pmu->events[0].what, "cpu package");
  EXPECT_EQ(pmu->events[0].pmu_type, 4242u);
  EXPECT_EQ(pmu->events[0].config, 0x02u);
  EXPECT_DOUBLE_EQ(pmu->events[0].joules_per_count, 2.3283064365386962890625e-10);
  EXPECT_EQ(pmu->events[1].event, "energy-ram");
  EXPECT_EQ(pmu->events[1].what, "dram");
  EXPECT_EQ(pmu->events[1].config, 0x03u);
  EXPECT_DOUBLE_EQ(pmu->events[1].joules_per_count, 6.103515625e-5);
}

TEST(PerfPowerTest, RamEventIsOptionalAndCpumaskDefaultsToCpu0) {
  TempDir root;
  fs::path dir = make_power_pmu(root.path(), /*with_ram=*/false);
  fs::remove(dir / "cpumask");
  auto pmu = detail::read_perf_power_pmu(root.str());
  ASSERT_TRUE(pmu.is_ok()) << pmu.status().to_string();
  EXPECT_THAT(pmu->cpus, ElementsAre(0));
  ASSERT_EQ(pmu->events.size(), 1u);
  EXPECT_EQ(pmu->events[0].event, "energy-pkg");
}

TEST(PerfPowerTest, ParsesCpuListsAndEventTerms) {
  EXPECT_THAT(*detail::parse_cpu_list("0\n"), ElementsAre(0));
  EXPECT_THAT(*detail::parse_cpu_list("0,28"), ElementsAre(0, 28));
  EXPECT_THAT(*detail::parse_cpu_list("0-3,8"), ElementsAre(0, 1, 2, 3, 8));
  EXPECT_FALSE(detail::parse_cpu_list("zero").is_ok());
  EXPECT_FALSE(detail::parse_cpu_list("3-1").is_ok());
  EXPECT_FALSE(detail::parse_cpu_list("").is_ok());

  EXPECT_EQ(*detail::parse_event_config("event=0x02", "config:0-7"), 0x02u);
  EXPECT_EQ(*detail::parse_event_config("event=2", ""), 2u);
  EXPECT_EQ(*detail::parse_event_config("event=0x02", "config:8-15\n"), 0x200u);
  EXPECT_EQ(detail::parse_event_config("event=0x02,umask=0x1", "config:0-7").status().code(),
            StatusCode::kUnsupported);
  EXPECT_FALSE(detail::parse_event_config("event=zz", "config:0-7").is_ok());
  EXPECT_FALSE(detail::parse_event_config("", "config:0-7").is_ok());
}

TEST(PerfPowerTest, BadFilesAreReportedWithTheirPath) {
  TempDir root;
  fs::path dir = make_power_pmu(root.path());
  write_file(dir / "events/energy-pkg.scale", "lots\n");
  auto pmu = detail::read_perf_power_pmu(root.str());
  ASSERT_FALSE(pmu.is_ok());
  EXPECT_EQ(pmu.status().code(), StatusCode::kCorrupt);
  EXPECT_THAT(pmu.status().message(), HasSubstr((dir / "events/energy-pkg.scale").string()));

  make_power_pmu(root.path());
  write_file(dir / "events/energy-pkg.unit", "Watts\n");
  EXPECT_EQ(detail::read_perf_power_pmu(root.str()).status().code(), StatusCode::kUnsupported);
}

TEST(PerfPowerTest, AbsentPmuOrEventIsNotAvailable) {
  TempDir root;
  auto pmu = detail::read_perf_power_pmu(root.str());
  ASSERT_FALSE(pmu.is_ok());
  EXPECT_THAT(pmu.status().message(), StartsWith("perf power PMU not available: "));
  EXPECT_THAT(pmu.status().message(), HasSubstr(root.str() + "/bus/event_source/devices/power/type"));

  fs::path dir = make_power_pmu(root.path());
  fs::remove(dir / "events/energy-pkg");
  pmu = detail::read_perf_power_pmu(root.str());
  ASSERT_FALSE(pmu.is_ok());
  EXPECT_THAT(pmu.status().message(), StartsWith("perf power PMU not available: "));
  EXPECT_THAT(pmu.status().message(), HasSubstr("events/energy-pkg"));
}

// The syscall itself cannot be tested here (no power PMU on this machine): with a fake
// description, perf_event_open must fail and say so, with the errno text.
TEST(PerfPowerTest, OpeningAFakePmuFailsWithTheReason) {
  TempDir root;
  make_power_pmu(root.path());
  auto meters = open_perf_rapl_meters(root.str());
  ASSERT_FALSE(meters.is_ok());
  EXPECT_THAT(meters.status().message(), StartsWith("perf power PMU not available: perf_event_open("));
  EXPECT_THAT(meters.status().message(), HasSubstr("cpu 0) failed: "));
}

// The counting path, through the real perf_event_open: a PMU description whose "energy"
// event is the kernel's software cpu-clock (type 1, config 0; nanoseconds per cpu, idle
// included), scaled by 1e-9, so the meter reads "joules" equal to the seconds that passed.
// Where perf_event_open is not allowed (a container's seccomp filter, no root) the test
// says so and skips: that is the case the test above covers.
TEST(PerfPowerTest, CountsThroughPerfEventOpen) {
  TempDir root;
  fs::path dir = root.path() / "bus/event_source/devices/power";
  write_file(dir / "type", std::to_string(PERF_TYPE_SOFTWARE) + "\n");
  write_file(dir / "cpumask", "0\n");
  write_file(dir / "format/event", "config:0-63\n");
  write_file(dir / "events/energy-pkg", "event=" + std::to_string(PERF_COUNT_SW_CPU_CLOCK) + "\n");
  write_file(dir / "events/energy-pkg.scale", "1e-9\n");
  write_file(dir / "events/energy-pkg.unit", "Joules\n");
  auto meters = open_perf_rapl_meters(root.str());
  if (!meters.is_ok()) GTEST_SKIP() << "perf_event_open is not allowed here: " << meters.status().message();
  ASSERT_EQ(meters->size(), 1u);
  EnergyMeter& meter = *meters->front();
  EXPECT_EQ(meter.name(), "perf:energy-pkg@cpu0");
  EXPECT_EQ(meter.what(), "cpu package");
  EXPECT_DOUBLE_EQ(meter.resolution_j(), 1e-9);
  auto window = MeterWindow::begin({&meter});
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto energies = window.end();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(energies.size(), 1u);
  ASSERT_TRUE(energies[0].energy_j.has_value()) << energies[0].note;
  EXPECT_NEAR(*energies[0].energy_j, seconds, 0.1 * seconds);
  // Monotonic from the first read.
  auto a = meter.read_energy_j(), b = meter.read_energy_j();
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_GE(*b, *a);
  EXPECT_GT(*a, 0.2);
}

// A user without the right to count system-wide (kernel.perf_event_paranoid >= 1 and not
// root) is told the fix.
TEST(PerfPowerTest, PermissionDeniedSaysHowToFixIt) {
  std::ifstream paranoid_file("/proc/sys/kernel/perf_event_paranoid");
  int paranoid = -1;
  if (!(paranoid_file >> paranoid) || paranoid < 1) GTEST_SKIP() << "system-wide counting is open to every user here";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to drop to nobody";
  TempDir root;
  fs::path dir = root.path() / "bus/event_source/devices/power";
  write_file(dir / "type", std::to_string(PERF_TYPE_SOFTWARE) + "\n");
  write_file(dir / "events/energy-pkg", "event=" + std::to_string(PERF_COUNT_SW_CPU_CLOCK) + "\n");
  write_file(dir / "events/energy-pkg.scale", "1e-9\n");
  if (!open_perf_rapl_meters(root.str()).is_ok()) GTEST_SKIP() << "perf_event_open is not allowed here even for root";
  auto seen = as_nobody([&] { return open_perf_rapl_meters(root.str()).status(); });
  if (!seen) GTEST_SKIP() << "cannot switch to user nobody in this environment";
  ASSERT_FALSE(seen->is_ok()) << "nobody opened a system-wide counter";
  EXPECT_EQ(seen->code(), StatusCode::kIoError);
  EXPECT_THAT(seen->message(), StartsWith("perf power PMU not available: perf_event_open("));
  EXPECT_THAT(seen->message(), HasSubstr("sudo sysctl kernel.perf_event_paranoid=0"));
}

// ---- NVML -------------------------------------------------------------------------------

// Holds the fake library loaded for the whole test, so its state survives irene's own
// dlopen/dlclose, and exposes its controls.
class NvmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = ::dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << ::dlerror();
    configure_ = reinterpret_cast<FakeNvmlConfigureFn>(::dlsym(handle_, "fake_nvml_configure"));
    live_inits_ = reinterpret_cast<FakeNvmlLiveInitsFn>(::dlsym(handle_, "fake_nvml_live_inits"));
    energy_calls_ = reinterpret_cast<FakeNvmlEnergyCallsFn>(::dlsym(handle_, "fake_nvml_energy_calls"));
    ASSERT_TRUE(configure_ && live_inits_ && energy_calls_);
    configure(FakeNvmlConfig{});
  }
  void TearDown() override {
    if (handle_) ::dlclose(handle_);
  }
  void configure(const FakeNvmlConfig& config) { configure_(&config); }

  void* handle_ = nullptr;
  FakeNvmlConfigureFn configure_ = nullptr;
  FakeNvmlLiveInitsFn live_inits_ = nullptr;
  FakeNvmlEnergyCallsFn energy_calls_ = nullptr;
};

TEST_F(NvmlTest, ReadsTheEnergyCounter) {
  FakeNvmlConfig config;
  config.energy_step_mj = 500;  // +0.5 J per call
  configure(config);
  {
    auto gpus = open_nvml_meters(FAKE_NVML_PATH);
    ASSERT_TRUE(gpus.is_ok()) << gpus.status().to_string();
    ASSERT_EQ(gpus->size(), 1u);
    GpuMeter& gpu = *(*gpus)[0];
    EXPECT_EQ(gpu.name(), "nvml:gpu0");
    EXPECT_EQ(gpu.what(), "gpu board");
    EXPECT_EQ(gpu.device_name(), "Fake GPU");
    EXPECT_EQ(gpu.index(), 0u);
    EXPECT_FALSE(gpu.integrates_power());
    EXPECT_DOUBLE_EQ(gpu.resolution_j(), 1e-3);
    EXPECT_GT(gpu.update_period_s(), 0);
    EXPECT_EQ(live_inits_(), 1);

    // Opening read the counter once (0.5 J): that is the zero.
    EXPECT_DOUBLE_EQ(*gpu.read_energy_j(), 0.5);
    EXPECT_DOUBLE_EQ(*gpu.read_energy_j(), 1.0);

    auto window = MeterWindow::begin({&gpu});
    std::this_thread::sleep_for(std::chrono::duration<double>(gpu.update_period_s() * 1.5));
    auto energies = window.end();
    ASSERT_EQ(energies.size(), 1u);
    ASSERT_TRUE(energies[0].energy_j.has_value()) << energies[0].note;
    EXPECT_DOUBLE_EQ(*energies[0].energy_j, 0.5);  // one call at begin, one at end
    EXPECT_FALSE(energies[0].shorter_than_update_period);
  }
  EXPECT_EQ(live_inits_(), 0) << "nvmlShutdown must run when the last meter is gone";
}

TEST_F(NvmlTest, SamplesUtilisationMemoryAndClocks) {
  auto gpus = open_nvml_meters(FAKE_NVML_PATH);
  ASSERT_TRUE(gpus.is_ok()) << gpus.status().to_string();
  auto sample = (*gpus)[0]->sample();
  ASSERT_TRUE(sample.is_ok()) << sample.status().to_string();
  EXPECT_EQ(sample->gpu_util_pct, 87.0);
  EXPECT_EQ(sample->memory_busy_pct, 42.0);
  EXPECT_EQ(sample->memory_used_pct, 25.0);  // 4 GiB of 16 GiB
  EXPECT_EQ(sample->graphics_clock_mhz, 1410.0);
  EXPECT_EQ(sample->memory_clock_mhz, 1215.0);
  EXPECT_EQ(sample->power_w, 50.0);
}

TEST_F(NvmlTest, OneMeterPerGpu) {
  FakeNvmlConfig config;
  config.device_count = 3;
  configure(config);
  auto gpus = open_nvml_meters(FAKE_NVML_PATH);
  ASSERT_TRUE(gpus.is_ok()) << gpus.status().to_string();
  ASSERT_EQ(gpus->size(), 3u);
  EXPECT_EQ((*gpus)[2]->name(), "nvml:gpu2");
  EXPECT_EQ((*gpus)[2]->index(), 2u);
}

TEST_F(NvmlTest, IntegratesPowerWithoutAnEnergyCounter) {
  FakeNvmlConfig config;
  config.has_energy_counter = false;
  config.power_mw = 50'000;  // 50 W
  configure(config);
  auto before_open = Clock::now();
  auto gpus = open_nvml_meters(FAKE_NVML_PATH);
  auto after_open = Clock::now();
  ASSERT_TRUE(gpus.is_ok()) << gpus.status().to_string();
  GpuMeter& gpu = *(*gpus)[0];
  EXPECT_TRUE(gpu.integrates_power());

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto before_read = Clock::now();
  auto energy = gpu.read_energy_j();
  auto after_read = Clock::now();
  ASSERT_TRUE(energy.is_ok()) << energy.status().to_string();
  // Constant power: energy = 50 W x (read time - open time), bracketed by our clocks.
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  EXPECT_GE(*energy, 50.0 * seconds(before_read - after_open));
  EXPECT_LE(*energy, 50.0 * seconds(after_read - before_open));
  EXPECT_EQ(energy_calls_(), 0u);
}

TEST_F(NvmlTest, MissingLibraryIsNotAvailable) {
  auto gpus = open_nvml_meters("libirene-no-such-nvml.so.1");
  ASSERT_FALSE(gpus.is_ok());
  EXPECT_EQ(gpus.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(gpus.status().message(), StartsWith("NVML not available: cannot load libirene-no-such-nvml.so.1: "));
}

TEST_F(NvmlTest, DriverNotLoadedIsNotAvailable) {
  FakeNvmlConfig config;
  config.init_result = 9;  // NVML_ERROR_DRIVER_NOT_LOADED
  configure(config);
  auto gpus = open_nvml_meters(FAKE_NVML_PATH);
  ASSERT_FALSE(gpus.is_ok());
  EXPECT_EQ(gpus.status().message(), "NVML not available: nvmlInit_v2 failed: Driver Not Loaded (9)");
  EXPECT_EQ(live_inits_(), 0);
}

TEST_F(NvmlTest, NoGpuIsNotAvailable) {
  FakeNvmlConfig config;
  config.device_count = 0;
  configure(config);
  auto gpus = open_nvml_meters(FAKE_NVML_PATH);
  ASSERT_FALSE(gpus.is_ok());
  EXPECT_EQ(gpus.status().message(), "NVML not available: no GPU (NVML reports 0 devices)");
  EXPECT_EQ(live_inits_(), 0);
}

// ---- discovery --------------------------------------------------------------------------

TEST(DiscoverTest, NothingFoundGivesTheExactMessage) {
  TempDir root;
  MeterOptions options;
  options.sysfs_root = root.str();
  options.nvml_library = "libirene-no-such-nvml.so.1";
  MeterSet set = discover_meters(options);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.summary(), "no energy meter found (looked for: RAPL powercap at " + root.str() +
                               "/class/powercap, perf power PMU at " + root.str() +
                               "/bus/event_source/devices/power, NVML libirene-no-such-nvml.so.1)");
  ASSERT_EQ(set.unavailable.size(), 3u);
  EXPECT_EQ(set.unavailable[0].source, "RAPL powercap");
  EXPECT_EQ(set.unavailable[1].source, "perf power PMU");
  EXPECT_EQ(set.unavailable[2].source, "NVML");
  EXPECT_THAT(set.reasons(), HasSubstr("\nNVML not available: cannot load libirene-no-such-nvml.so.1"));
}

TEST(DiscoverTest, ThisMachineGivesMetersOrTheNoMeterMessage) {
  MeterSet set = discover_meters();
  std::cout << set.summary() << "\n" << set.reasons();
  if (set.empty()) {
    EXPECT_EQ(set.summary(),
              "no energy meter found (looked for: RAPL powercap at /sys/class/powercap, perf power PMU at "
              "/sys/bus/event_source/devices/power, NVML libnvidia-ml.so.1)");
  } else {
    for (EnergyMeter* meter : set.all()) {
      auto e = meter->read_energy_j();
      std::cout << meter->name() << " (" << meter->what() << "): "
                << (e ? std::to_string(*e) + " J" : e.status().to_string()) << "\n";
    }
    for (GpuMeter* gpu : set.gpus()) {
      auto sample = gpu->sample();  // whatever it says, it must not crash
      std::cout << gpu->name() << " sample: " << (sample ? "ok" : sample.status().to_string()) << "\n";
    }
  }
}

TEST_F(NvmlTest, DiscoversPowercapAndGpusAndSkipsPerf) {
  TempDir root;
  make_powercap(root.path());
  make_power_pmu(root.path());
  MeterOptions options;
  options.sysfs_root = root.str();
  options.nvml_library = FAKE_NVML_PATH;
  MeterSet set = discover_meters(options);
  EXPECT_EQ(set.summary(),
            "energy meters: rapl:package-0 (cpu package), rapl:package-0/dram (dram), nvml:gpu0 (gpu board)");
  ASSERT_EQ(set.gpus().size(), 1u);
  EXPECT_EQ(set.gpus()[0]->name(), "nvml:gpu0");
  ASSERT_EQ(set.unavailable.size(), 1u);
  EXPECT_EQ(set.unavailable[0].source, "perf power PMU");
  EXPECT_THAT(set.unavailable[0].reason, StartsWith("not tried"));
}

TEST(DiscoverTest, FallsBackToPerfWhenPowercapIsAbsent) {
  TempDir root;
  make_power_pmu(root.path());
  MeterOptions options;
  options.sysfs_root = root.str();
  options.nvml_library = "libirene-no-such-nvml.so.1";
  MeterSet set = discover_meters(options);
  EXPECT_TRUE(set.empty());  // the fake PMU cannot be opened
  ASSERT_EQ(set.unavailable.size(), 3u);
  EXPECT_THAT(set.unavailable[0].reason, HasSubstr("does not exist"));
  EXPECT_THAT(set.unavailable[1].reason, HasSubstr("perf_event_open("));
}

}  // namespace
}  // namespace irene::profile
