// Submitting a campaign's points: as a Slurm job array, or here one task after another.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "campaign/campaign.h"
#include "campaign/host.h"
#include "campaign/slurm.h"

namespace irene::campaign {

namespace {

std::string file_stamp() {
  std::string t = store::iso_time_now();  // 2024-05-01T12:00:00.123Z -> 20240501-120000
  std::string out;
  for (char c : t.substr(0, 19))
    if (std::isdigit(static_cast<unsigned char>(c))) out += c;
  return out.substr(0, 8) + "-" + out.substr(8);
}

Result<SubmitResult> submit_points(const CampaignSpec& spec, store::Store& store, const SubmitOptions& o,
                                   const std::vector<int64_t>& todo, SubmitResult result) {
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  const auto tasks = split_into_tasks(todo, spec.slurm.points_per_task);
  result.tasks = static_cast<int64_t>(tasks.size());
  result.points = static_cast<int64_t>(todo.size());
  if (todo.empty()) {
    log("campaign " + spec.name + ": nothing to submit (" + std::to_string(result.already_done) + " done, " +
        std::to_string(result.in_flight) + " held by live tasks)");
    return result;
  }
  if (o.local) {
    result.job_id = "local-" + host_name() + "-" + std::to_string(getpid());
    if (o.dry_run) return result;
    IRENE_RETURN_IF_ERROR(store.save_submission(
        {spec.name, result.job_id, "local", result.tasks, result.points, store::iso_time_now()}));
    TaskOptions t{this_task(), o.cancel, o.log};
    for (const auto& task : tasks) {
      auto s = run_task(store, spec.name, task, t);
      if (!s.is_ok()) {  // cancelled, or the store gone: the next task would fare no better
        result.local_status = s.status();
        break;
      }
      result.local.measured += s->measured;
      result.local.failed += s->failed;
      result.local.skipped += s->skipped;
    }
    return result;
  }
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(o.work_dir);
  std::filesystem::create_directories(dir / "logs", ec);
  if (ec) return Status::io_error("cannot create '" + (dir / "logs").string() + "': " + ec.message());
  result.script = (dir / (spec.name + "-" + file_stamp() + ".sbatch")).string();
  {
    std::ofstream out(result.script);
    if (!(out << array_script(spec, tasks, o.irene_path, o.db_url, (dir / "logs").string())))
      return Status::io_error("cannot write '" + result.script + "'");
  }
  if (o.dry_run) return result;
  IRENE_ASSIGN_OR_RETURN(result.job_id, sbatch(o.commands ? o.commands : system_commands(), result.script));
  // Recorded after sbatch answered: squeue is asked about the jobs listed here.
  IRENE_RETURN_IF_ERROR(store.save_submission(
      {spec.name, result.job_id, "slurm", result.tasks, result.points, store::iso_time_now()}));
  log("campaign " + spec.name + ": Slurm job " + result.job_id + ", " + std::to_string(result.tasks) +
      " array tasks, " + std::to_string(result.points) + " points (script " + result.script + ")");
  return result;
}

store::CampaignRecord record_of(const CampaignSpec& spec) {
  return {spec.name, to_json(spec).dump(), static_cast<int64_t>(plan(spec).size()), store::iso_time_now()};
}

}  // namespace

Result<SubmitResult> submit(const CampaignSpec& spec, store::Store& store, const SubmitOptions& o) {
  IRENE_ASSIGN_OR_RETURN(auto existing, store.campaign(spec.name));
  if (existing) {
    IRENE_ASSIGN_OR_RETURN(auto subs, store.submissions(spec.name));
    if (!subs.empty())
      return Status::invalid_argument("campaign '" + spec.name + "' was submitted before (first as " +
                                      subs.front().job_id + "); `irene campaign resume` submits what is left of it");
  }
  if (!o.dry_run) IRENE_RETURN_IF_ERROR(store.save_campaign(record_of(spec)));
  std::vector<int64_t> all;
  for (const Point& p : plan(spec)) all.push_back(p.index);
  return submit_points(spec, store, o, all, {});
}

Result<SubmitResult> resume(const CampaignSpec& spec, store::Store& store, const SubmitOptions& o) {
  IRENE_ASSIGN_OR_RETURN(auto existing, store.campaign(spec.name));
  if (!existing)
    return Status::not_found("campaign '" + spec.name + "' is not in the store " + store.describe() +
                             ": `irene campaign submit` it first");
  // Refuses a file whose plan changed since it was submitted.
  IRENE_RETURN_IF_ERROR(store.save_campaign(record_of(spec)));
  const CommandRunner commands = o.commands ? o.commands : system_commands();
  IRENE_ASSIGN_OR_RETURN(Progress p, progress(store, spec.name, &commands));
  std::set<int64_t> keep;  // done, or in the hands of a live task
  SubmitResult result;
  for (const auto& pt : p.points) {
    if (pt.status == "done") {
      keep.insert(pt.index);
      ++result.already_done;
    } else if (pt.status == "running") {
      keep.insert(pt.index);
      ++result.in_flight;
    }
  }
  std::vector<int64_t> todo;
  for (const Point& pt : plan(spec))
    if (!keep.count(pt.index)) todo.push_back(pt.index);
  return submit_points(spec, store, o, todo, result);
}

}  // namespace irene::campaign
