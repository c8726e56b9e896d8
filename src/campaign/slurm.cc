#include "campaign/slurm.h"

#include <sstream>

namespace irene::campaign {

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_job_name(const std::string& campaign) { return "irene-" + campaign; }

std::string array_script(const CampaignSpec& spec, const std::vector<std::vector<int64_t>>& tasks,
                         const std::string& irene_path, const std::string& db_url, const std::string& log_dir) {
  const SlurmSettings& s = spec.slurm;
  std::ostringstream out;
  size_t points = 0;
  for (const auto& t : tasks) points += t.size();
  out << "#!/bin/bash\n"
      << "# irene campaign '" << spec.name << "': " << points << " points in " << tasks.size()
      << " array tasks of at most " << s.points_per_task << " (written by `irene campaign submit`/`resume`).\n"
      << "#SBATCH --job-name=" << slurm_job_name(spec.name) << "\n"
      << "#SBATCH --array=0-" << tasks.size() - 1 << (s.max_parallel > 0 ? "%" + std::to_string(s.max_parallel) : "")
      << "\n";
  if (!s.partition.empty()) out << "#SBATCH --partition=" << s.partition << "\n";
  if (!s.account.empty()) out << "#SBATCH --account=" << s.account << "\n";
  if (!s.qos.empty()) out << "#SBATCH --qos=" << s.qos << "\n";
  if (s.gpus_per_task > 0) out << "#SBATCH --gres=gpu:" << s.gpus_per_task << "\n";
  out << "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=" << s.cpus_per_task << "\n";
  if (!s.memory.empty()) out << "#SBATCH --mem=" << s.memory << "\n";
  out << "#SBATCH --time=" << s.time_limit << "\n"
      << "#SBATCH --output=" << log_dir << "/%A_%a.out\n"
      // Each task writes every point to the store as it finishes; a task stopped by scancel
      // or its time limit (SIGTERM) records its point in flight as interrupted.
      << "case \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (size_t i = 0; i < tasks.size(); ++i) {
    std::vector<std::string> ids;
    for (int64_t p : tasks[i]) ids.push_back(std::to_string(p));
    out << "  " << i << ") points=" << join(ids, ",") << " ;;\n";
  }
  out << "  *) echo \"irene: no points for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n"
      << "exec " << shell_quote(irene_path) << " campaign run-task --db " << shell_quote(db_url) << " --campaign "
      << shell_quote(spec.name) << " --points \"$points\"\n";
  return out.str();
}

Result<std::string> sbatch(const CommandRunner& run, const std::string& script) {
  IRENE_ASSIGN_OR_RETURN(CommandResult r, run({"sbatch", "--parsable", script}));
  if (r.exit_code != 0)
    return Status::io_error("sbatch refused the array (exit " + std::to_string(r.exit_code) + "): " +
                            first_line(r.error.empty() ? r.output : r.error) + "; the script is " + script);
  // --parsable prints "JOBID" or "JOBID;CLUSTER".
  std::string id = first_line(r.output);
  id = id.substr(0, id.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    return Status::io_error("sbatch answered '" + first_line(r.output) + "', not a job id");
  return id;
}

std::optional<std::set<std::string>> live_tasks(const CommandRunner& run, const std::string& campaign,
                                                const std::vector<std::string>& job_ids) {
  // By name rather than by id: squeue refuses ids it has already forgotten.
  auto r = run({"squeue", "--noheader", "--array", "--name=" + slurm_job_name(campaign), "--format=%i"});
  if (!r.is_ok() || r->exit_code != 0) return std::nullopt;
  std::set<std::string> known(job_ids.begin(), job_ids.end()), live;
  for (const auto& line : lines(r->output)) {
    const std::string id = line.substr(0, line.find_first_of(" \t"));
    if (known.count(id.substr(0, id.find('_')))) live.insert("slurm:" + id);
  }
  return live;
}

nlohmann::json accounting(const CommandRunner& run, const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return {{"note", "nothing submitted to Slurm"}};
  auto r = run({"sacct", "--noheader", "--parsable2", "--allocations", "--jobs=" + join(job_ids, ","),
                "--format=JobID,State,Elapsed,ConsumedEnergyRaw"});
  if (!r.is_ok()) return {{"note", r.status().message()}};
  if (r->exit_code != 0) return {{"note", "sacct: " + first_line(r->error.empty() ? r->output : r->error)}};
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& line : lines(r->output)) {
    std::vector<std::string> f;
    std::stringstream in(line);
    for (std::string cell; std::getline(in, cell, '|');) f.push_back(cell);
    if (f.size() < 3) continue;
    nlohmann::json row = {{"task", "slurm:" + f[0]}, {"state", f[1]}, {"elapsed", f[2]}, {"consumed_energy_j", nullptr}};
    // ConsumedEnergyRaw is joules from the site's acct_gather_energy plugin; empty without one.
    if (f.size() > 3 && !f[3].empty() && f[3].find_first_not_of("0123456789") == std::string::npos)
      row["consumed_energy_j"] = std::stod(f[3]);
    tasks.push_back(std::move(row));
  }
  return {{"tasks", tasks}};
}

}  // namespace irene::campaign
