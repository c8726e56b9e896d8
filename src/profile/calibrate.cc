#include "profile/calibrate.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/memory.h"
#include "models/memory.h"
#include "models/zoo.h"
#include "predict/dataset.h"
#include "profile/meters/meter.h"

namespace irene::profile {

namespace {

const char* kHeader =
    "batch_size,seq_len,flops,mem_bytes,cpu,mem,gpu,gpu_mem,gpu_clk,gpu_mem_clk,times_mean,gpu_energy_mean,"
    "energy_mean,level_name,model_name\n";

std::string row(const tree::Tree& t, const tree::Node& n, const std::string& level_name) {
  // IrEne's layout has a number in every column: a figure this machine has no source for
  // (every GPU figure on a CPU-only machine) is written as 0, the GPU doing nothing.
  const tree::Measurement& m = *n.measured;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.1f,%.1f,%.9g,%.12g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,",
                static_cast<double>(t.batch_size), static_cast<double>(t.seq_len), n.flops / 1e6,
                n.mem_bytes / 1048576.0, m.cpu_pct.value_or(0), m.mem_pct.value_or(0), m.gpu_pct.value_or(0),
                m.gpu_mem_pct.value_or(0), m.gpu_clk_mhz.value_or(0), m.gpu_mem_clk_mhz.value_or(0),
                m.times_mean_s, m.gpu_energy_j.value_or(0), *m.energy_j);
  return buf + level_name + "," + t.model + "\n";
}

}  // namespace

Result<std::unique_ptr<IreneCsvWriter>> IreneCsvWriter::create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create '" + dir + "': " + ec.message());
  std::unique_ptr<IreneCsvWriter> w(new IreneCsvWriter());
  w->dir_ = dir;
  for (int i = 0; i < 4; ++i) {
    w->files_[i].open(dir + "/" + predict::kDatasetFiles[i]);
    if (!w->files_[i]) return Status::io_error("cannot write " + dir + "/" + predict::kDatasetFiles[i]);
    w->files_[i] << kHeader;
  }
  return w;
}

int IreneCsvWriter::add(const tree::Tree& t, const std::string& model_name) {
  int rows = 0;
  for (const tree::Node& n : t.nodes) {
    if (!n.measured || !n.measured->energy_j) continue;
    switch (n.kind) {
      case tree::NodeKind::kModel: files_[0] << row(t, n, model_name); break;
      case tree::NodeKind::kModule: files_[1] << row(t, n, n.path + ":" + n.cls); break;
      case tree::NodeKind::kMl: files_[2] << row(t, n, n.path + ":" + n.cls); break;
      case tree::NodeKind::kMlNp: files_[3] << row(t, n, t.nodes[n.parent].path + ":" + n.cls); break;
      default: continue;
    }
    ++rows;
  }
  return rows;
}

Status IreneCsvWriter::close() {
  for (int i = 0; i < 4; ++i) {
    files_[i].close();
    if (files_[i].fail()) return Status::io_error("cannot write " + dir_ + "/" + predict::kDatasetFiles[i]);
  }
  return Status::ok();
}

Status calibrate(const CalibrateOptions& o) {
  if (o.models.empty() || o.batch_sizes.empty() || o.seq_lens.empty())
    return Status::invalid_argument("give at least one model, batch size and sequence length");
  // Every configuration is checked before the first is measured: a long run should not
  // fail half-way on sizes known to be impossible.
  struct Run {
    models::ModelConfig config;
    int64_t batch_size, seq_len;
  };
  std::vector<Run> runs;
  const auto available = available_memory_bytes();
  for (const auto& name : o.models) {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig c, models::bundled_config(name));
    for (int64_t b : o.batch_sizes)
      for (int64_t s : o.seq_lens) {
        models::RunOptions as_profiled{b, s};
        as_profiled.cuda = o.profile.device == "cuda";
        as_profiled.keep_activations = true;
        IRENE_RETURN_IF_ERROR(models::validate_run(c, as_profiled));
        if (available) IRENE_RETURN_IF_ERROR(models::check_run_memory(c, as_profiled, *available));
        runs.push_back({c, b, s});
      }
  }
  IRENE_RETURN_IF_ERROR(validate_profile_options(o.profile));
  {
    MeterSet meters = discover_meters({o.profile.sysfs_root, o.profile.nvml_library});
    if (meters.empty())
      return Status::unsupported(meters.summary() + "; calibration needs measured energy as its ground truth");
  }
  IRENE_ASSIGN_OR_RETURN(std::unique_ptr<IreneCsvWriter> csv, IreneCsvWriter::create(o.out_dir));
  const int total = static_cast<int>(runs.size());
  int done = 0;
  nlohmann::json header;
  std::string stopped_during;  // set when cancelled: what was being profiled
  std::set<std::string> meter_notes;  // why a node has no energy (and so no row)
  for (const Run& run : runs) {
    const std::string current =
        run.config.name + " b=" + std::to_string(run.batch_size) + " s=" + std::to_string(run.seq_len);
    if (o.progress) o.progress(done, total, current);
    ProfileOptions po = o.profile;
    po.batch_size = run.batch_size;
    po.seq_len = run.seq_len;
    po.level = "all";
    IRENE_ASSIGN_OR_RETURN(ProfileResult r, profile_model(run.config, po));
    header = r.header;
    const std::string notes = r.header.value("meter_notes", "");
    if (!notes.empty()) meter_notes.insert(run.config.name + " b=" + std::to_string(run.batch_size) + " s=" +
                                           std::to_string(run.seq_len) + ": " + notes);
    if (!r.complete) {  // a configuration half measured is not written
      stopped_during = current;
      break;
    }
    csv->add(r.tree, run.config.name);
    ++done;
  }
  if (o.progress) o.progress(done, total, "");
  IRENE_RETURN_IF_ERROR(csv->close());
  std::ofstream(o.out_dir + "/machine.json") << nlohmann::json{{"machine", header.value("machine", nlohmann::json())},
                                                               {"meters", header.value("meters", nlohmann::json())},
                                                               {"settings", header.value("settings", nlohmann::json())},
                                                               {"configurations", done},
                                                               {"meter_notes", meter_notes},
                                                               {"complete", stopped_during.empty()}}
                                                    .dump(2)
                                             << "\n";
  if (!stopped_during.empty())
    return Status(StatusCode::kCancelled, "calibration stopped during " + stopped_during + "; the " +
                                              std::to_string(done) + " of " + std::to_string(total) +
                                              " configurations finished before are in " + o.out_dir);
  return Status::ok();
}

}  // namespace irene::profile
