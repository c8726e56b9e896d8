// `irene profile` and `irene calibrate`: measure nodes on this machine.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/model_choice.h"
#include "cli/progress.h"
#include "models/zoo.h"
#include "profile/calibrate.h"
#include "profile/profile.h"
#include "tree/tree_format.h"

namespace irene::cli {

namespace {

void add_profile_options(CLI::App* cmd, profile::ProfileOptions& o) {
  cmd->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--seconds-per-node", o.seconds_per_node, "Time each node runs per round (T)")->capture_default_str();
  cmd->add_option("--rounds", o.rounds, "Measurement rounds per node (R)")->capture_default_str();
  cmd->add_option("--sample-period", o.sample_period_s, "Resource sampler period, seconds")->capture_default_str();
  cmd->add_option("--threads", o.threads, "libtorch's CPU threads, as torch.set_num_threads (0: libtorch's default)")
      ->capture_default_str();
  cmd->add_flag("--subtract-idle", o.subtract_idle, "Subtract idle power x time from measured energy (off by default)");
  cmd->add_option("--sysfs-root", o.sysfs_root, "Root of the sysfs tree to read RAPL from")->capture_default_str();
  cmd->add_option("--nvml-library", o.nvml_library, "NVML library to load")->capture_default_str();
}

Result<std::vector<std::string>> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  if (out.empty()) return Status::invalid_argument("empty list '" + s + "'");
  return out;
}

Result<std::vector<int64_t>> int_list(const std::string& s, const char* what) {
  IRENE_ASSIGN_OR_RETURN(auto items, split_list(s));
  std::vector<int64_t> out;
  for (const auto& i : items) {
    char* end = nullptr;
    const long long v = std::strtoll(i.c_str(), &end, 10);
    if (*end != '\0' || v <= 0)
      return Status::invalid_argument(std::string(what) + " must be positive integers separated by commas, got '" + i + "'");
    out.push_back(v);
  }
  return out;
}

struct ProfileArgs {
  ModelChoice choice;
  std::string format = "json", output, meta;
  int max_depth = -1;  // text only
  profile::ProfileOptions options;
};

struct CalibrateArgs {
  std::string models, batch_sizes, seq_lens, output;
  profile::ProfileOptions options;
};

}  // namespace

Runner add_profile_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Measure every node of a model on this machine");
  auto a = std::make_shared<ProfileArgs>();
  a->choice.add_to(cmd);
  cmd->add_option("--batch-size,-b", a->options.batch_size, "Batch size")->required();
  cmd->add_option("--seq-len,-s", a->options.seq_len, "Sequence length")->required();
  cmd->add_option("--level", a->options.level, "ml, module, model or all")->capture_default_str();
  add_profile_options(cmd, a->options);
  cmd->add_option("--format,-f", a->format, "json, csv or text")
      ->check(CLI::IsMember({"json", "csv", "text"}))
      ->capture_default_str();
  cmd->add_option("--max-depth", a->max_depth, "text: print nodes down to this depth only (default: all)");
  cmd->add_option("-o,--output", a->output, "Write here instead of stdout");
  cmd->add_option("--meta", a->meta,
                  "Also write the profile's header (machine, meters, settings, start and end) to this JSON file; "
                  "the JSON output holds it as \"profile\", the CSV output is plain rows");
  return [a]() -> Status {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    IRENE_RETURN_IF_ERROR(profile::validate_profile_options(a->options));
    IRENE_RETURN_IF_ERROR(models::validate_run(cfg, {a->options.batch_size, a->options.seq_len}));
    profile::ProfileOptions o = a->options;
    InterruptGuard guard;
    o.cancel = guard.flag();
    profile::ProfileResult r;
    {
      ProgressBar bar("profile " + cfg.name);
      o.progress = [&bar](int d, int t) { bar.update(d, t); };
      IRENE_ASSIGN_OR_RETURN(r, profile::profile_model(cfg, o));
    }
    std::string text;
    if (a->format == "csv") {
      // Plain CSV, the header row first, as pandas and spreadsheets read it.
      text = profile::profile_csv(r.tree);
    } else if (a->format == "text") {
      for (const auto& [k, v] : r.header.items()) text += "# " + k + ": " + v.dump() + "\n";
      text += tree::to_text(r.tree, {a->max_depth});
    } else {
      nlohmann::json doc = tree::to_json(r.tree);
      doc["profile"] = r.header;
      text = doc.dump() + "\n";
    }
    if (a->output.empty()) {
      std::cout << text;
    } else {
      std::ofstream out(a->output);
      if (!(out << text)) return Status::io_error("cannot write '" + a->output + "'");
    }
    if (!a->meta.empty()) {
      std::ofstream meta(a->meta);
      if (!(meta << r.header.dump(2) << "\n")) return Status::io_error("cannot write '" + a->meta + "'");
    }
    std::cerr << r.header["meter_summary"].get<std::string>() << "\n";
    if (!r.complete) std::cerr << "interrupted: wrote the nodes measured so far (marked incomplete)\n";
    return Status::ok();
  };
}

Runner add_calibrate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("calibrate", "Profile models on this machine and write an IrEne-layout dataset");
  auto a = std::make_shared<CalibrateArgs>();
  cmd->add_option("--models", a->models, "Bundled models, comma-separated")->required();
  cmd->add_option("--batch-sizes", a->batch_sizes, "Batch sizes, comma-separated")->required();
  cmd->add_option("--seq-lens", a->seq_lens, "Sequence lengths, comma-separated")->required();
  cmd->add_option("-o,--output", a->output, "Folder to write the CSV files into")->required();
  add_profile_options(cmd, a->options);
  return [a]() -> Status {
    profile::CalibrateOptions o;
    IRENE_ASSIGN_OR_RETURN(o.models, split_list(a->models));
    IRENE_ASSIGN_OR_RETURN(o.batch_sizes, int_list(a->batch_sizes, "--batch-sizes"));
    IRENE_ASSIGN_OR_RETURN(o.seq_lens, int_list(a->seq_lens, "--seq-lens"));
    o.out_dir = a->output;
    o.profile = a->options;
    InterruptGuard guard;
    o.profile.cancel = guard.flag();
    ProgressBar bar("calibrate");
    o.progress = [&bar](int d, int t, const std::string&) { bar.update(d, t); };
    return profile::calibrate(o);
  };
}

}  // namespace irene::cli
