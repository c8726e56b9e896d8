// Slurm through its own commands: the array's batch script, sbatch, squeue and sacct.
// Internal to src/campaign (the CLI and the server go through campaign.h).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "campaign/campaign.h"

namespace irene::campaign {

// The job name of a campaign's arrays: what squeue is asked about.
std::string slurm_job_name(const std::string& campaign);

// The sbatch script of one array: task i runs `irene campaign run-task` on tasks[i].
// Resources come from spec.slurm; logs go to log_dir/<job>_<task>.out.
std::string array_script(const CampaignSpec& spec, const std::vector<std::vector<int64_t>>& tasks,
                         const std::string& irene_path, const std::string& db_url, const std::string& log_dir);

// `sbatch --parsable SCRIPT`: the array's job id.
Result<std::string> sbatch(const CommandRunner& run, const std::string& script);

// The array tasks of these jobs that Slurm still holds (pending or running), as
// "slurm:JOB_TASK"; nullopt when squeue cannot be asked.
std::optional<std::set<std::string>> live_tasks(const CommandRunner& run, const std::string& campaign,
                                                const std::vector<std::string>& job_ids);

// sacct's view of the jobs' tasks: {"tasks": [{"task", "state", "elapsed", "consumed_energy_j"}]}
// or {"note": why there is none (no accounting storage, no sacct)}.
nlohmann::json accounting(const CommandRunner& run, const std::vector<std::string>& job_ids);

// 'it'\''s' for a shell.
std::string shell_quote(const std::string& s);

}  // namespace irene::campaign
