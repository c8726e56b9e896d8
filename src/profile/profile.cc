#include "profile/profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "machines/catalogue.h"
#include "models/machine_probe.h"
#include "models/zoo.h"
#include "profile/meters/meter.h"
#include "profile/sampler.h"
#include "tree/tree_format.h"

namespace irene::profile {

namespace {

using Clock = std::chrono::steady_clock;
// Runs of the reference product per speed probe, the fastest kept: about 15 ms on a CPU
// core, long enough to see through a stretch of a few slow milliseconds.
constexpr int kSpeedProbeRuns = 20;
// Runs of each weight layout's product, once per profile.
constexpr int kLayoutProbeRuns = 20;

bool selected(const tree::Node& n, const std::string& level) {
  switch (n.kind) {
    case tree::NodeKind::kModel: return level == "all" || level == "model";
    case tree::NodeKind::kModule: return level == "all" || level == "module";
    case tree::NodeKind::kMl:
    case tree::NodeKind::kMlNp: return level == "all" || level == "ml";
    default: return false;
  }
}

// IrEne measured a node once and reused the result for nodes of the same type, shapes
// and features. Each node's key: class, FLOPs, bytes, parameters, and a hash of the
// shapes of every op below it, in order (Q x K^T and weights x V in an attention have the
// same FLOPs and bytes but different shapes, so they are measured apart).
std::vector<std::string> identities(const tree::Tree& t) {
  std::vector<size_t> shapes_hash(t.nodes.size());
  for (size_t k = t.nodes.size(); k-- > 0;) {  // pre-order: children come after their parent
    std::string shapes = t.nodes[k].shapes;
    for (int c : t.nodes[k].children) shapes += "|" + std::to_string(shapes_hash[c]);
    shapes_hash[k] = std::hash<std::string>{}(shapes);
  }
  std::vector<std::string> keys;
  keys.reserve(t.nodes.size());
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    const tree::Node& n = t.nodes[k];
    keys.push_back(n.cls + "|" + std::to_string(n.flops) + "|" + std::to_string(n.mem_bytes) + "|" +
                   std::to_string(n.num_parameters) + "|" + std::to_string(shapes_hash[k]));
  }
  return keys;
}

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One node's rounds so far; the resource figures are filled in from the sampler later.
struct NodeRuns {
  int node = -1;    // the first node of its kind: the one whose replay runs
  int copies = 0;   // nodes sharing this measurement
  int runs_per_round = 1;
  std::vector<double> per_run;  // each round's time of one run
  std::vector<double> energy_sum;
  std::vector<bool> energy_ok;
  std::vector<ResourceSampler::Window> windows;  // when the node ran
  tree::Measurement m;
};

// How many runs of a node fill about T seconds: one timed run decides.
Result<NodeRuns> size_node(const std::function<void()>& replay, const ProfileOptions& o, const MeterSet& meters) {
  const auto probe_start = Clock::now();
  IRENE_RETURN_IF_ERROR(models::ModelRunner::run_replay(replay, 1));
  const double once = std::chrono::duration<double>(Clock::now() - probe_start).count();
  NodeRuns out;
  out.runs_per_round = std::max(1, static_cast<int>(o.seconds_per_node / std::max(once, 1e-7)));
  out.energy_sum.assign(meters.meters.size(), 0.0);
  out.energy_ok.assign(meters.meters.size(), true);
  return out;
}

// One round of a node: its runs back to back, every meter read around them. `idle_w` (one
// per meter, or empty) is subtracted power; problems reading a meter are collected in
// `meter_notes`.
Status run_round(const std::function<void()>& replay, NodeRuns& out, const MeterSet& meters,
                 const std::vector<double>& idle_w, std::set<std::string>& meter_notes) {
  auto window = MeterWindow::begin(meters.all());
  const auto begin = Clock::now();
  IRENE_RETURN_IF_ERROR(models::ModelRunner::run_replay(replay, out.runs_per_round));
  const auto end = Clock::now();
  out.per_run.push_back(std::chrono::duration<double>(end - begin).count() / out.runs_per_round);
  out.windows.emplace_back(begin, end);
  const auto energies = window.end();
  for (size_t k = 0; k < energies.size(); ++k) {
    if (!energies[k].energy_j) {
      out.energy_ok[k] = false;
      meter_notes.insert(energies[k].note);
      continue;
    }
    out.energy_sum[k] += *energies[k].energy_j - (idle_w.empty() ? 0.0 : idle_w[k] * energies[k].seconds);
  }
  return Status::ok();
}

// The node's measurement from the rounds it ran: mean, spread and fastest round; energy.
void finish_node(NodeRuns& out, const MeterSet& meters) {
  tree::Measurement& m = out.m;
  double mean = 0, sq = 0;
  for (double v : out.per_run) mean += v;
  mean /= out.per_run.size();
  for (double v : out.per_run) sq += (v - mean) * (v - mean);
  m.times_mean_s = mean;
  m.times_std_s = std::sqrt(sq / out.per_run.size());
  m.times_min_s = *std::min_element(out.per_run.begin(), out.per_run.end());

  // A node's energy: the meters' total over its runs divided by the runs, as IrEne's
  // ground truth; whole-machine energy is the sum of every meter.
  const int total_runs = out.runs_per_round * static_cast<int>(out.per_run.size());
  double all = 0, gpu = 0;
  bool has_gpu = false;
  std::string failed;
  for (size_t k = 0; k < meters.meters.size(); ++k) {
    const EnergyMeter* meter = meters.meters[k].get();
    if (!out.energy_ok[k]) {
      failed += (failed.empty() ? "" : ", ") + meter->name();
      continue;
    }
    all += out.energy_sum[k] / total_runs;
    m.energy_by_meter_j[meter->name()] = out.energy_sum[k] / total_runs;
    if (dynamic_cast<const GpuMeter*>(meter)) {
      has_gpu = true;
      gpu += out.energy_sum[k] / total_runs;
    }
  }
  if (has_gpu) m.gpu_energy_j = gpu;
  if (meters.empty())
    m.energy_note = meters.summary();
  else if (!failed.empty())
    m.energy_note = "no reading from " + failed + " (see meter_notes in the header)";
  else
    m.energy_j = all;
}

void apply(const ResourceSummary& rs, tree::Measurement& m) {
  m.cpu_pct = rs.cpu_pct;
  m.mem_pct = rs.mem_pct;
  m.cpu_mhz = rs.cpu_mhz;
  m.gpu_pct = rs.gpu_pct;
  m.gpu_mem_pct = rs.gpu_mem_pct;
  m.gpu_clk_mhz = rs.gpu_clk_mhz;
  m.gpu_mem_clk_mhz = rs.gpu_mem_clk_mhz;
}

}  // namespace

Status validate_device(const std::string& device, bool cuda_available) {
  if (device != "cpu" && device != "cuda")
    return Status::invalid_argument("device must be cpu or cuda, got '" + device + "'");
  return device == "cuda" ? models::require_cuda(cuda_available) : Status::ok();
}

Status validate_profile_options(const ProfileOptions& o) {
  IRENE_RETURN_IF_ERROR(validate_device(o.device, models::ModelRunner::cuda_available()));
  if (!(o.seconds_per_node > 0) || o.seconds_per_node > 600)
    return Status::invalid_argument("--seconds-per-node must be more than 0 and at most 600");
  if (o.rounds < 1 || o.rounds > 100) return Status::invalid_argument("--rounds must be from 1 to 100");
  if (o.level != "ml" && o.level != "module" && o.level != "model" && o.level != "all")
    return Status::invalid_argument("--level must be ml, module, model or all, got '" + o.level + "'");
  if (!(o.sample_period_s >= 0.001) || o.sample_period_s > 10)
    return Status::invalid_argument("the sample period must be from 0.001 to 10 seconds");
  if (o.threads < 0 || o.threads > 1024)
    return Status::invalid_argument("--threads must be from 1 to 1024, or 0 for libtorch's default");
  return Status::ok();
}


Result<ProfileResult> profile_model(const models::ModelConfig& config, const ProfileOptions& o) {
  IRENE_RETURN_IF_ERROR(validate_profile_options(o));
  if (o.threads > 0) models::ModelRunner::set_cpu_threads(o.threads);
  models::RunOptions run_options{o.batch_size, o.seq_len};
  run_options.cuda = o.device == "cuda";
  // The floor under every kernel here and the bandwidth at each cache level and beyond,
  // for the latency calibration: half of each level's size (source and destination
  // together), and eight times the last level's for memory. Measured before the model is
  // built, so the probe's buffers never sit beside the captured activations.
  IRENE_ASSIGN_OR_RETURN(double dispatch_s, models::measure_op_dispatch_seconds(run_options.cuda));
  nlohmann::json probe = nlohmann::json::array();
  nlohmann::json layout_probe = nlohmann::json::array();
  if (!run_options.cuda) {
    IRENE_ASSIGN_OR_RETURN(std::vector<models::WeightLayoutSpeed> layouts, models::measure_weight_layouts(kLayoutProbeRuns));
    for (const auto& l : layouts)
      layout_probe.push_back({{"op_bytes", l.op_bytes},
                              {"transposed_flop_per_s", l.transposed_flop_per_s},
                              {"untransposed_flop_per_s", l.untransposed_flop_per_s},
                              {"speed_ratio", l.untransposed_flop_per_s / l.transposed_flop_per_s}});
    const std::vector<double> caches = machines::host_cpu().cache_bytes;
    // Sizes in between the last two levels too, doubling: a VM's share of a host's last
    // level is smaller than the level the OS reports, and only the probe can tell where
    // the fast sizes end.
    std::vector<std::pair<double, const char*>> levels;
    for (size_t i = 0; i < caches.size(); ++i) {
      if (i + 1 == caches.size() && i > 0)
        for (double b = 2 * caches[i - 1]; b < caches[i]; b *= 2) levels.emplace_back(b, "between caches");
      levels.emplace_back(caches[i], "cache");
    }
    std::vector<double> sets;
    for (const auto& level : levels) sets.push_back(level.first / 2);
    sets.push_back(caches.empty() ? 256e6 : 8 * caches.back());
    IRENE_ASSIGN_OR_RETURN(std::vector<models::CopyBandwidth> bw,
                           models::measure_copy_bandwidths(sets, false, dispatch_s));
    for (size_t i = 0; i < bw.size(); ++i)
      probe.push_back({{"level", i < levels.size() ? levels[i].second : "memory"},
                       {"level_bytes", i < levels.size() ? nlohmann::json(levels[i].first) : nlohmann::json(nullptr)},
                       {"working_set_bytes", bw[i].working_set_bytes},
                       {"bandwidth_bytes_per_s", bw[i].bytes_per_s}});
  }

  run_options.keep_activations = true;  // refused up front when the captured tensors cannot fit
  IRENE_ASSIGN_OR_RETURN(auto runner, models::ModelRunner::create(config, run_options));
  IRENE_RETURN_IF_ERROR(runner->run_untraced());  // warm-up: allocation, lazy initialisation
  IRENE_ASSIGN_OR_RETURN(models::ModelRunner::CapturedRun run, runner->trace_captured());

  MeterSet meters = discover_meters({o.sysfs_root, o.nvml_library});
  std::vector<GpuMeter*> gpus = meters.gpus();
  ResourceSampler sampler(o.sample_period_s, gpus.empty() ? nullptr : gpus.front(), "/proc", o.sysfs_root);

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
  // Identical nodes share one measurement: key -> what the first of them gave. Round 1
  // walks every node (sizing and measuring the first of each kind); rounds 2..R walk the
  // measured ones again in the same order, so a node's rounds spread over the whole
  // profile rather than sitting together in one stretch of a machine whose speed drifts.
  const std::vector<std::string> keys = identities(t);
  std::map<std::string, NodeRuns> measured_once;
  std::vector<NodeRuns*> first_of_kind;  // in the order round 1 met them
  std::vector<std::pair<int, const NodeRuns*>> done_nodes;
  int reused = 0, done = 0;
  const int total = static_cast<int>(todo.size()) * o.rounds;
  std::set<std::string> meter_notes;
  Clock::time_point last_end = Clock::now();
  auto cancelled = [&] { return o.cancel && o.cancel->load(); };
  // The machine's speed at the start of every round.
  std::vector<double> speeds;
  double reference_flops = 0;
  auto probe_speed = [&]() -> Status {
    IRENE_ASSIGN_OR_RETURN(models::GemmSpeed g, models::measure_reference_gemm(run_options.cuda, kSpeedProbeRuns));
    reference_flops = g.flops;
    speeds.push_back(g.flop_per_s);
    return Status::ok();
  };

  IRENE_RETURN_IF_ERROR(probe_speed());
  for (int i : todo) {
    if (cancelled()) break;
    const std::string& key = keys[i];
    auto it = measured_once.find(key);
    if (it != measured_once.end()) {
      ++reused;
    } else {
      IRENE_ASSIGN_OR_RETURN(NodeRuns runs, size_node(run.replays[i], o, meters));
      IRENE_RETURN_IF_ERROR(run_round(run.replays[i], runs, meters, idle_w, meter_notes));
      last_end = runs.windows.back().second;
      runs.node = i;
      it = measured_once.emplace(key, std::move(runs)).first;
      first_of_kind.push_back(&it->second);
    }
    ++it->second.copies;
    done_nodes.emplace_back(i, &it->second);
    if (o.progress) o.progress(++done, total);
  }
  for (int r = 1; r < o.rounds && !cancelled(); ++r) {
    IRENE_RETURN_IF_ERROR(probe_speed());
    for (NodeRuns* runs : first_of_kind) {
      if (cancelled()) break;
      IRENE_RETURN_IF_ERROR(run_round(run.replays[runs->node], *runs, meters, idle_w, meter_notes));
      last_end = runs->windows.back().second;
      done += runs->copies;
      if (o.progress) o.progress(done, total);
    }
  }
  result.complete = !cancelled() || done == total;
  run.replays.clear();  // frees the captured activations

  // Resource figures: the samples taken while each node ran, matched by timestamp. The
  // last window's covering sample may still be due.
  sampler.wait_past(last_end);
  for (auto& [key, runs] : measured_once) {
    finish_node(runs, meters);
    apply(sampler.summarize(runs.windows), runs.m);
  }
  for (const auto& [i, runs] : done_nodes) {
    t.nodes[i].measured = runs->m;
    t.nodes[i].latency_s = runs->m.times_mean_s;
  }
  const int measured = static_cast<int>(measured_once.size());
  std::string notes;
  for (const auto& n : meter_notes) notes += (notes.empty() ? "" : "; ") + n;

  nlohmann::json meter_list = nlohmann::json::array();
  for (const EnergyMeter* m : meters.all())
    meter_list.push_back({{"name", m->name()},
                          {"measures", m->what()},
                          {"resolution_j", m->resolution_j()},
                          {"update_period_s", m->update_period_s()}});
  result.header = {
      {"machine", {{"cpu", describe_machine()}, {"gpu", gpus.empty() ? "none" : gpus.front()->device_name()}}},
      {"meters", meter_list},
      {"meter_summary", meters.summary()},
      {"meter_notes", notes},
      {"settings",
       {{"model", config.name},
        {"batch_size", o.batch_size},
        {"seq_len", o.seq_len},
        {"device", o.device},
        {"seconds_per_node", o.seconds_per_node},
        {"rounds", o.rounds},
        {"level", o.level},
        {"sample_period_s", o.sample_period_s},
        {"threads", models::ModelRunner::cpu_threads()},
        {"subtract_idle", o.subtract_idle}}},
      {"dispatch_overhead_s", dispatch_s},
      {"dispatch_note", "median time of one a + a on a one-element tensor: the host's cost of one op"},
      {"bandwidth_probe", probe},
      {"bandwidth_note", "dst.copy_(src) at half of each cache level's size (and of the sizes doubling between "
                         "the last two levels), and at 8 x the last level's (memory), bytes read and written per "
                         "second, the dispatch cost taken out; CPU only"},
      {"weight_layout_probe", layout_probe},
      {"weight_layout_note", "a [32, 768] x [768, N] product, N = 768 and 3072, with the weight stored [in, out] "
                             "(addmm, as Conv1D) against [out, in] (linear), each the fastest of " +
                                 std::to_string(kLayoutProbeRuns) +
                                 " runs, the layouts taking turns; speed_ratio = untransposed over transposed "
                                 "FLOP/s; CPU only"},
      {"speed_probe",
       {{"op", "linear [32, 768] x [768, 768]"},
        {"flops", reference_flops},
        {"runs_per_probe", kSpeedProbeRuns},
        {"flop_per_s_by_round", speeds}}},
      {"speed_note", "the reference product's fastest of runs_per_probe runs at the start of every round; the "
                     "latency calibration compares profiles at the speed each ran at (the mean over rounds)"},
      {"nodes_measured", measured},
      {"nodes_reused", reused},
      {"reuse_note", "identical nodes (same class, FLOPs, bytes, parameters and op shapes) were measured once and "
                     "the result reused"},
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
  auto cell = [&out](const std::optional<double>& v, const char* format) {
    out += ',';
    if (!v) return;
    char buf[32];
    std::snprintf(buf, sizeof buf, format, *v);
    out += buf;
  };
  for (const tree::Node& n : t.nodes) {
    out += tree::csv_row(n);
    if (n.measured) {
      const tree::Measurement& m = *n.measured;
      cell(m.times_mean_s, "%.9g");
      cell(m.times_std_s, "%.9g");
      cell(m.cpu_pct, "%.4g");
      cell(m.mem_pct, "%.4g");
      cell(m.cpu_mhz, "%.6g");
      cell(m.gpu_pct, "%.4g");
      cell(m.gpu_mem_pct, "%.4g");
      cell(m.gpu_clk_mhz, "%.6g");
      cell(m.gpu_mem_clk_mhz, "%.6g");
      cell(m.gpu_energy_j, "%.9g");
      cell(m.energy_j, "%.9g");
    } else {
      out += ",,,,,,,,,,,";
    }
    out += "\n";
  }
  return out;
}

}  // namespace irene::profile
