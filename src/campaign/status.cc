// A campaign's progress: the store's rows against the plan, and Slurm's view of the
// tasks where its commands answer.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <map>

#include "campaign/campaign.h"
#include "campaign/host.h"
#include "campaign/slurm.h"

namespace irene::campaign {

namespace {

// Whether the task that left a point running may still be at it.
bool task_alive(const std::string& task, const std::optional<std::set<std::string>>& live) {
  // Unknown to squeue: gone. Without an answer from squeue, nothing can be told: running.
  if (task.rfind("slurm:", 0) == 0) return !live || live->count(task);
  if (task.rfind("local:", 0) == 0) {
    const size_t colon = task.rfind(':');
    const std::string host = task.substr(6, colon - 6);
    if (host != host_name()) return true;  // another machine's process: cannot tell, so assume it runs
    const pid_t pid = static_cast<pid_t>(std::atoi(task.c_str() + colon + 1));
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
  }
  return false;
}

std::string figure(const std::optional<double>& v, double scale, const char* unit) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g %s", *v * scale, unit);
  return buf;
}

}  // namespace

Result<Progress> progress(store::Store& store, const std::string& name, const CommandRunner* commands) {
  IRENE_ASSIGN_OR_RETURN(auto record, store.campaign(name));
  if (!record) {
    IRENE_ASSIGN_OR_RETURN(auto all, store.campaigns());
    std::string names;
    for (const auto& c : all) names += (names.empty() ? "" : ", ") + c.name;
    return Status::not_found("no campaign '" + name + "' in the store " + store.describe() +
                             (names.empty() ? " (it holds none)" : " (it holds: " + names + ")"));
  }
  Progress p;
  p.campaign = *record;
  IRENE_ASSIGN_OR_RETURN(p.spec, parse_campaign(nlohmann::json::parse(record->spec, nullptr, false),
                                                "campaign '" + name + "' as recorded in " + store.describe(), false));
  IRENE_ASSIGN_OR_RETURN(p.points, store.points(name, false));
  IRENE_ASSIGN_OR_RETURN(p.submissions, store.submissions(name));
  std::vector<std::string> slurm_jobs;
  for (const auto& s : p.submissions)
    if (s.kind == "slurm") slurm_jobs.push_back(s.job_id);
  if (commands) {
    p.live_tasks = live_tasks(*commands, name, slurm_jobs);
    p.accounting = accounting(*commands, slurm_jobs);
  }
  for (auto& pt : p.points) {
    if (pt.status == "done") {
      ++p.done;
      p.repeats_discarded += std::max<int64_t>(0, pt.measurements - 1);
    } else if (pt.status == "failed") {
      ++p.failed;
    } else if (commands && !task_alive(pt.task, p.live_tasks)) {
      pt.status = "lost";  // its task is gone without a word: killed, or its node failed
      ++p.lost;
    } else {
      ++p.running;
    }
  }
  p.not_started = p.campaign.points - static_cast<int64_t>(p.points.size());
  return p;
}

nlohmann::json to_json(const Progress& p) {
  std::map<int64_t, const store::PointRecord*> by_index;
  for (const auto& pt : p.points) by_index[pt.index] = &pt;
  nlohmann::json results = nlohmann::json::array();
  for (const Point& pt : plan(p.spec)) {
    nlohmann::json row = {{"index", pt.index},         {"key", pt.key()},          {"model", pt.model},
                          {"batch_size", pt.batch_size}, {"seq_len", pt.seq_len}, {"new_tokens", pt.new_tokens},
                          {"repetition", pt.repetition}, {"status", "not_started"}};
    if (auto it = by_index.find(pt.index); it != by_index.end()) {
      const store::PointRecord& r = *it->second;
      row["status"] = r.status;
      row["task"] = r.task;
      row["attempts"] = r.attempts;
      row["measurements"] = r.measurements;
      row["error"] = r.error;
      row["latency_s"] = r.latency_s ? nlohmann::json(*r.latency_s) : nlohmann::json();
      row["energy_j"] = r.energy_j ? nlohmann::json(*r.energy_j) : nlohmann::json();
      row["started"] = r.started;
      row["finished"] = r.finished;
    }
    results.push_back(std::move(row));
  }
  nlohmann::json subs = nlohmann::json::array();
  for (const auto& s : p.submissions)
    subs.push_back({{"job_id", s.job_id}, {"kind", s.kind}, {"tasks", s.tasks}, {"points", s.points},
                    {"submitted", s.submitted}});
  nlohmann::json slurm = nlohmann::json::object();
  if (p.live_tasks) slurm["live_tasks"] = *p.live_tasks;
  if (!p.accounting.is_null()) slurm["accounting"] = p.accounting;
  return {{"name", p.campaign.name},
          {"created", p.campaign.created},
          {"points", p.campaign.points},
          {"done", p.done},
          {"failed", p.failed},
          {"running", p.running},
          {"lost", p.lost},
          {"not_started", p.not_started},
          {"repeats_discarded", p.repeats_discarded},
          {"spec", to_json(p.spec)},
          {"submissions", subs},
          {"results", results},
          {"slurm", slurm}};
}

std::string to_text(const Progress& p) {
  const CampaignSpec& s = p.spec;
  std::string out = "campaign " + p.campaign.name + ": " + std::to_string(p.campaign.points) + " points (" +
                    std::to_string(s.models.size()) + " models x " + std::to_string(s.batch_sizes.size()) +
                    " batch sizes x " + std::to_string(s.seq_lens.size()) + " sequence lengths x " +
                    std::to_string(s.new_tokens.size()) + " new-token counts x " + std::to_string(s.repetitions) +
                    " repetitions)\n";
  out += "  done " + std::to_string(p.done) + ", failed " + std::to_string(p.failed) + ", running " +
         std::to_string(p.running) + ", lost " + std::to_string(p.lost) + ", not started " +
         std::to_string(p.not_started) + "; repeated measurements discarded: " + std::to_string(p.repeats_discarded) +
         "\n";
  for (const auto& sub : p.submissions)
    out += "  submitted " + sub.submitted + ": " + (sub.kind == "slurm" ? "Slurm job " : "") + sub.job_id + " (" +
           std::to_string(sub.tasks) + " tasks, " + std::to_string(sub.points) + " points)\n";
  if (p.live_tasks)
    out += "  squeue: " + std::to_string(p.live_tasks->size()) + " of its array tasks queued or running\n";
  else if (std::any_of(p.submissions.begin(), p.submissions.end(), [](const auto& s) { return s.kind == "slurm"; }))
    out += "  squeue: no answer here, so a point left running by a task that died still counts as running\n";
  if (p.accounting.contains("note")) out += "  sacct: " + p.accounting["note"].get<std::string>() + "\n";
  if (p.accounting.contains("tasks"))
    for (const auto& t : p.accounting["tasks"])
      out += "  sacct " + t["task"].get<std::string>() + ": " + t["state"].get<std::string>() + ", " +
             t["elapsed"].get<std::string>() +
             (t["consumed_energy_j"].is_null() ? "" : ", " + t["consumed_energy_j"].dump() + " J (acct_gather_energy)") +
             "\n";
  for (const auto& pt : p.points)
    out += "  " + std::to_string(pt.index) + "  " + pt.key + "  " + pt.status + "  " + pt.task + "  latency " +
           figure(pt.latency_s, 1e3, "ms") + "  energy " + figure(pt.energy_j, 1, "J") +
           (pt.error.empty() ? "" : "  (" + pt.error + ")") + "\n";
  return out;
}

}  // namespace irene::campaign
