#include "profile/profile.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include "models/zoo.h"
#include "profile/meters/meter.h"
#include "profile/sampler.h"
#include "tree/tree_format.h"

namespace irene::profile {

namespace {

using Clock = std::chrono::steady_clock;

bool selected(const tree::Node& n, const std::string& level) {
  switch (n.kind) {
    case tree::NodeKind::kModel: return level == "all" || level == "model";
    case tree::NodeKind::kModule: return level == "all" || level == "module";
    case tree::NodeKind::kMl:
    case tree::NodeKind::kMlNp: return level == "all" || level == "ml";
    default: return false;
  }
}

// IrEne measured nodes of identical type, FLOPs and bytes once.
std::string identity(const tree::Node& n) {
  return n.cls + "|" + std::to_string(n.flops) + "|" + std::to_string(n.mem_bytes) + "|" +
         std::to_string(n.num_parameters);
}

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

Status validate_profile_options(const ProfileOptions& o) {
  if (o.device == "cuda" && !models::ModelRunner::cuda_available())
    return Status::unsupported("--device cuda: this irene is linked against a libtorch built without CUDA "
                               "(Debian's libtorch is CPU-only), or no GPU is visible; use --device cpu");
  if (o.device != "cpu") return Status::invalid_argument("--device must be cpu or cuda, got '" + o.device + "'");
  if (!(o.seconds_per_node > 0) || o.seconds_per_node > 600)
    return Status::invalid_argument("--seconds-per-node must be more than 0 and at most 600");
  if (o.rounds < 1 || o.rounds > 100) return Status::invalid_argument("--rounds must be from 1 to 100");
  if (o.level != "ml" && o.level != "module" && o.level != "model" && o.level != "all")
    return Status::invalid_argument("--level must be ml, module, model or all, got '" + o.level + "'");
  if (!(o.sample_period_s >= 0.001) || o.sample_period_s > 10)
    return Status::invalid_argument("the sample period must be from 0.001 to 10 seconds");
  return Status::ok();
}

Result<ProfileResult> profile_model(const models::ModelConfig& config, const ProfileOptions& o) {
  IRENE_RETURN_IF_ERROR(validate_profile_options(o));
  models::RunOptions run_options{o.batch_size, o.seq_len};
  run_options.cuda = o.device == "cuda";
  IRENE_ASSIGN_OR_RETURN(auto runner, models::ModelRunner::create(config, run_options));
  IRENE_RETURN_IF_ERROR(runner->run_untraced());  // warm-up: allocation, lazy initialisation
  IRENE_ASSIGN_OR_RETURN(models::ModelRunner::CapturedRun run, runner->trace_captured());

  MeterSet meters = discover_meters({o.sysfs_root, o.nvml_library});
  std::vector<GpuMeter*> gpus = meters.gpus();
  ResourceSampler sampler(o.sample_period_s, gpus.empty() ? nullptr : gpus.front());

  ProfileResult result;
  result.tree = std::move(run.tree);
  tree::Tree& t = result.tree;
  const std::string started = iso_now();

  // Idle power, for the optional subtraction: one quiet second before the runs.
  std::vector<double> idle_w;
  if (o.subtract_idle && !meters.empty()) {
    auto w = MeterWindow::begin(meters.all());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (const auto& e : w.end()) idle_w.push_back(e.energy_j ? *e.energy_j / e.seconds : 0.0);
  }

  std::vector<int> todo;
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (selected(t.nodes[i], o.level) && run.replays[i]) todo.push_back(static_cast<int>(i));
  std::map<std::string, tree::Measurement> measured_once;
  int measured = 0, reused = 0, done = 0;
  std::string meter_notes;

  for (int i : todo) {
    if (o.cancel && o.cancel->load()) {
      result.complete = false;
      break;
    }
    tree::Node& n = t.nodes[i];
    const std::string key = identity(n);
    if (auto it = measured_once.find(key); it != measured_once.end()) {
      n.measured = it->second;
      ++reused;
    } else {
      // How many runs fill about T seconds.
      const auto probe_start = Clock::now();
      IRENE_RETURN_IF_ERROR(models::ModelRunner::run_replay(run.replays[i], 1));
      const double once = std::chrono::duration<double>(Clock::now() - probe_start).count();
      const int runs = std::max(1, static_cast<int>(o.seconds_per_node / std::max(once, 1e-7)));

      std::vector<double> per_run;
      std::vector<ResourceSampler::Window> windows;
      std::vector<double> energy_sum(meters.meters.size(), 0.0);
      std::vector<bool> energy_ok(meters.meters.size(), true);
      double total_seconds = 0;
      for (int r = 0; r < o.rounds; ++r) {
        auto window = MeterWindow::begin(meters.all());
        const auto begin = Clock::now();
        IRENE_RETURN_IF_ERROR(models::ModelRunner::run_replay(run.replays[i], runs));
        const auto end = Clock::now();
        const double secs = std::chrono::duration<double>(end - begin).count();
        per_run.push_back(secs / runs);
        windows.emplace_back(begin, end);
        total_seconds += secs;
        const auto energies = window.end();
        for (size_t m = 0; m < energies.size(); ++m) {
          if (!energies[m].energy_j) {
            energy_ok[m] = false;
            if (meter_notes.find(energies[m].note) == std::string::npos) meter_notes += energies[m].note + "; ";
            continue;
          }
          double e = *energies[m].energy_j;
          if (!idle_w.empty()) e -= idle_w[m] * energies[m].seconds;
          energy_sum[m] += e;
        }
      }
      tree::Measurement m;
      double mean = 0, sq = 0;
      for (double v : per_run) mean += v;
      mean /= per_run.size();
      for (double v : per_run) sq += (v - mean) * (v - mean);
      m.times_mean_s = mean;
      m.times_std_s = std::sqrt(sq / per_run.size());
      const ResourceSummary rs = sampler.summarize(windows);
      m.cpu_pct = rs.cpu_pct;
      m.mem_pct = rs.mem_pct;
      m.cpu_mhz = rs.cpu_mhz;
      m.gpu_pct = rs.gpu_pct;
      m.gpu_mem_pct = rs.gpu_mem_pct;
      m.gpu_clk_mhz = rs.gpu_clk_mhz;
      m.gpu_mem_clk_mhz = rs.gpu_mem_clk_mhz;
      // A node's energy: the meters' total over its runs divided by the runs, as IrEne's
      // ground truth; whole-machine energy is the sum of every meter.
      const int total_runs = runs * o.rounds;
      double all = 0, gpu = 0;
      bool any = false, all_ok = !meters.empty();
      for (size_t k = 0; k < meters.meters.size(); ++k) {
        if (!energy_ok[k]) {
          all_ok = false;
          continue;
        }
        any = true;
        all += energy_sum[k] / total_runs;
        if (dynamic_cast<GpuMeter*>(meters.meters[k].get())) gpu += energy_sum[k] / total_runs;
      }
      m.gpu_energy_j = gpu;
      if (any && all_ok) m.energy_j = all;
      (void)total_seconds;
      n.measured = m;
      measured_once[key] = m;
      ++measured;
    }
    n.latency_s = n.measured->times_mean_s;
    if (o.progress) o.progress(++done, static_cast<int>(todo.size()));
  }
  run.replays.clear();  // frees the captured activations

  nlohmann::json meter_list = nlohmann::json::array();
  for (const EnergyMeter* m : meters.all())
    meter_list.push_back({{"name", m->name()}, {"measures", m->what()}, {"resolution_j", m->resolution_j()}});
  result.header = {
      {"machine", {{"cpu", describe_machine()}, {"gpu", gpus.empty() ? "none" : gpus.front()->device_name()}}},
      {"meters", meter_list},
      {"meter_summary", meters.summary()},
      {"meter_notes", meter_notes},
      {"settings",
       {{"model", config.name},
        {"batch_size", o.batch_size},
        {"seq_len", o.seq_len},
        {"device", o.device},
        {"seconds_per_node", o.seconds_per_node},
        {"rounds", o.rounds},
        {"level", o.level},
        {"sample_period_s", o.sample_period_s},
        {"subtract_idle", o.subtract_idle}}},
      {"nodes_measured", measured},
      {"nodes_reused", reused},
      {"reuse_note", "identical nodes (same class, FLOPs, bytes and parameters) were measured once and the result reused"},
      {"sampler", {{"samples", sampler.sample_count()}, {"cpu_seconds", sampler.thread_cpu_seconds()}}},
      {"start", started},
      {"end", iso_now()},
      {"complete", result.complete},
  };
  return result;
}

std::string describe_machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

std::string profile_csv(const tree::Tree& t) {
  std::string out = std::string(tree::kCsvHeader) +
                    ",times_mean_s,times_std_s,cpu_pct,mem_pct,cpu_mhz,gpu_pct,gpu_mem_pct,gpu_clk_mhz,"
                    "gpu_mem_clk_mhz,gpu_energy_j,energy_j\n";
  char buf[512];
  for (const tree::Node& n : t.nodes) {
    out += tree::csv_row(n);
    if (n.measured) {
      const tree::Measurement& m = *n.measured;
      std::snprintf(buf, sizeof buf, ",%.9g,%.9g,%.4g,%.4g,%.6g,%.4g,%.4g,%.6g,%.6g,%.9g,", m.times_mean_s,
                    m.times_std_s, m.cpu_pct, m.mem_pct, m.cpu_mhz, m.gpu_pct, m.gpu_mem_pct, m.gpu_clk_mhz,
                    m.gpu_mem_clk_mhz, m.gpu_energy_j);
      out += buf;
      if (m.energy_j) {
        std::snprintf(buf, sizeof buf, "%.9g", *m.energy_j);
        out += buf;
      }
    } else {
      out += ",,,,,,,,,,,";
    }
    out += "\n";
  }
  return out;
}

}  // namespace irene::profile
