// `irene campaign submit|resume|status|run-task|export`: measurement campaigns on a Slurm
// cluster (or this machine with --local), their results in the store.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "campaign/campaign.h"
#include "cli/commands.h"
#include "cli/db_choice.h"
#include "cli/interrupt.h"

namespace irene::cli {

namespace {

struct CampaignArgs {
  DbChoice db;
  std::string file, name, points, format = "text", output, work_dir;
  bool local = false, dry_run = false;
};

void log_line(const std::string& line) { std::cerr << line << "\n"; }

// The binary the array's tasks run: this one, by its real path.
std::string this_binary() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "irene" : p.string();
}

Result<std::vector<int64_t>> point_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0)
      return Status::invalid_argument("--points: '" + item + "' is not a point index (0, 1, ...)");
    out.push_back(v);
  }
  if (out.empty()) return Status::invalid_argument("--points: give the indices of the points, separated by commas");
  return out;
}

void print_submitted(const campaign::SubmitResult& r, const campaign::CampaignSpec& spec, bool dry_run, bool local) {
  if (r.points == 0) {
    std::cout << "campaign " << spec.name << ": nothing to submit (" << r.already_done << " points done, "
              << r.in_flight << " held by tasks still queued or running)\n";
    return;
  }
  std::cout << "campaign " << spec.name << ": " << r.points << " points in " << r.tasks << " tasks";
  if (r.already_done || r.in_flight)
    std::cout << " (left out: " << r.already_done << " done, " << r.in_flight << " held by live tasks)";
  if (local)
    std::cout << (dry_run ? ", to run here" : ", run here: " + r.local.to_string());
  else if (dry_run)
    std::cout << "; not submitted (--dry-run): " << r.script;
  else
    std::cout << "; Slurm job " << r.job_id << " (" << r.script << ")";
  std::cout << "\n";
}

// submit and resume: the same but for which points.
Status submit_or_resume(const CampaignArgs& a, bool is_resume) {
  IRENE_ASSIGN_OR_RETURN(campaign::CampaignSpec spec, campaign::load_campaign(a.file));
  IRENE_ASSIGN_OR_RETURN(auto store, a.db.open());
  campaign::SubmitOptions o;
  o.db_url = a.db.url;
  o.irene_path = this_binary();
  o.work_dir = a.work_dir.empty() ? "irene-campaigns/" + spec.name : a.work_dir;
  o.local = a.local;
  o.dry_run = a.dry_run;
  o.log = log_line;
  InterruptGuard guard;
  o.cancel = guard.flag();
  IRENE_ASSIGN_OR_RETURN(campaign::SubmitResult r,
                         is_resume ? campaign::resume(spec, *store, o) : campaign::submit(spec, *store, o));
  print_submitted(r, spec, a.dry_run, a.local);
  if (!r.local_status.is_ok()) return r.local_status;
  if (r.local.failed > 0)
    return Status::io_error(std::to_string(r.local.failed) + " points failed (`irene campaign status " + spec.name +
                            " --db ...` says why; `irene campaign resume` tries them again)");
  return Status::ok();
}

}  // namespace

Runner add_campaign_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("campaign", "Measurement campaigns: many profiles as a Slurm job array, into a store");
  cmd->require_subcommand(1);
  auto a = std::make_shared<CampaignArgs>();

  auto* submit = cmd->add_subcommand("submit", "Record a campaign file's points in the store and submit them (sbatch --array)");
  auto* resume = cmd->add_subcommand("resume", "Submit the points of a campaign that are not done (never started, failed or lost)");
  for (auto* c : {submit, resume}) {
    c->add_option("file", a->file, "The campaign file (JSON, or YAML ending in .yaml/.yml)")->required();
    a->db.add_to(c, true);
    c->add_flag("--local", a->local, "Run the tasks here, one after another, instead of submitting them to Slurm");
    c->add_flag("--dry-run", a->dry_run, "Write the sbatch script and say what would run; submit nothing");
    c->add_option("--work-dir", a->work_dir,
                  "Where the sbatch script and the tasks' logs go, on a file system the nodes share "
                  "(default irene-campaigns/NAME)");
  }
  auto* status = cmd->add_subcommand("status", "A campaign's progress: the store's points, squeue and sacct");
  status->add_option("name", a->name, "The campaign's name")->required();
  a->db.add_to(status, true);
  status->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();

  auto* run_task = cmd->add_subcommand("run-task", "Profile some points of a recorded campaign into the store (what each array task runs)");
  run_task->add_option("--campaign", a->name, "The campaign's name")->required();
  run_task->add_option("--points", a->points, "Indices of the points in the campaign's plan, comma-separated")->required();
  a->db.add_to(run_task, true);

  auto* exp = cmd->add_subcommand("export", "Write a campaign's measured points: the IrEne CSV layout or irene profile JSON files");
  exp->add_option("name", a->name, "The campaign's name")->required();
  a->db.add_to(exp, true);
  exp->add_option("--format,-f", a->format, "irene-csv (for irene train) or profiles (for irene train --method roofline)")
      ->check(CLI::IsMember({"irene-csv", "profiles"}))
      ->required();
  exp->add_option("-o,--output", a->output, "Folder to write into")->required();

  return [a, submit, resume, status, run_task, exp]() -> Status {
    if (submit->parsed()) return submit_or_resume(*a, false);
    if (resume->parsed()) return submit_or_resume(*a, true);
    IRENE_ASSIGN_OR_RETURN(auto store, a->db.open());
    if (status->parsed()) {
      const campaign::CommandRunner commands = campaign::system_commands();
      IRENE_ASSIGN_OR_RETURN(campaign::Progress p, campaign::progress(*store, a->name, &commands));
      std::cout << (a->format == "json" ? campaign::to_json(p).dump(2) + "\n" : campaign::to_text(p));
      return Status::ok();
    }
    if (run_task->parsed()) {
      IRENE_ASSIGN_OR_RETURN(std::vector<int64_t> points, point_list(a->points));
      InterruptGuard guard;
      campaign::TaskOptions o{campaign::this_task(), guard.flag(), log_line};
      IRENE_ASSIGN_OR_RETURN(campaign::TaskSummary s, campaign::run_task(*store, a->name, points, o));
      if (s.failed > 0) return Status::io_error("task " + o.task + ": " + s.to_string());
      return Status::ok();
    }
    IRENE_ASSIGN_OR_RETURN(std::string said, campaign::export_campaign(*store, a->name, a->format, a->output));
    std::cout << said << "\n";
    return Status::ok();
  };
}

}  // namespace irene::cli
