// Measurement campaigns: many profiles (models x batch sizes x sequence lengths x new
// tokens x repetitions) run as a Slurm job array, or one after another on this machine,
// each point's result written to the store (store/store.h) as soon as it is measured.
//
// A campaign file (JSON or YAML) names the points and how to run them; its plan numbers
// the points in a fixed order. `submit` records the campaign in the store and hands the
// points to `sbatch --array` in tasks of at most `points_per_task`; each array task runs
// `irene campaign run-task`, which profiles its points one by one (run_task below).
// `resume` submits again only the points not done: never started, failed, or left
// "running" by a task that no longer exists. Slurm is driven only through its commands
// (sbatch, squeue, sacct, scancel).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace irene::campaign {

// How each array task is placed: the sbatch options the file sets.
struct SlurmSettings {
  std::string partition;       // --partition; "" leaves the cluster's default
  std::string account, qos;    // --account, --qos; "" leaves them out
  int gpus_per_task = 0;       // --gres=gpu:N (0: no GPU asked for)
  int cpus_per_task = 1;       // --cpus-per-task
  std::string memory;          // --mem, as Slurm writes it ("16G"); "" leaves the default
  std::string time_limit = "01:00:00";  // --time, as Slurm writes it
  int points_per_task = 4;     // the most points one array task measures
  int max_parallel = 0;        // --array=...%N: tasks running at once (0: no limit)
};

// The profiler's settings for every point (see profile/profile.h).
struct ProfileSettings {
  std::string device = "cpu";
  double seconds_per_node = 1.0;
  int rounds = 3;
  std::string level = "all";
  int threads = 0;  // libtorch's CPU threads; 0: its default
};

struct CampaignSpec {
  std::string name;
  std::vector<std::string> models;
  std::vector<int64_t> batch_sizes, seq_lens, new_tokens{0};
  int repetitions = 1;
  SlurmSettings slurm;
  ProfileSettings profile;
};

// Reads a campaign file: JSON, or YAML for a .yaml/.yml name. Every field is checked, and
// unknown ones refused; InvalidArgument says "FILE: FIELD: what is wrong (what is
// allowed)". Models must resolve (bundled, or in the local Hugging Face cache) and every
// size must be one the model can run.
Result<CampaignSpec> load_campaign(const std::string& path);
// The same from a document already read; `source` names it in messages. Without
// `resolve_models` the model names are taken as they are (a campaign read back from the
// store on a machine whose Hugging Face cache lacks its models).
Result<CampaignSpec> parse_campaign(const nlohmann::json& doc, const std::string& source, bool resolve_models = true);
// The spec with every default filled in, as the store keeps it (and parse_campaign reads back).
nlohmann::json to_json(const CampaignSpec& spec);

// One point of a plan.
struct Point {
  int64_t index = 0;  // its place in the plan
  std::string model;
  int64_t batch_size = 1, seq_len = 1, new_tokens = 0;
  int repetition = 0;
  std::string key() const;  // "distilgpt2 b=1 s=32 n=0 r=0": the store's key
};

// Every point, models outermost, then batch sizes, sequence lengths, new tokens and
// repetitions; indices 0..n-1.
std::vector<Point> plan(const CampaignSpec& spec);
// `indices` in tasks of at most `points_per_task`, in order.
std::vector<std::vector<int64_t>> split_into_tasks(const std::vector<int64_t>& indices, int points_per_task);

// Runs a program and gives its exit code and standard output; tests substitute their own.
struct CommandResult {
  int exit_code = 0;
  std::string output, error;  // stdout, stderr
};
using CommandRunner = std::function<Result<CommandResult>(const std::vector<std::string>& argv)>;
CommandRunner system_commands();

// What a task did with its points.
struct TaskSummary {
  int measured = 0, failed = 0, skipped = 0;  // skipped: already done by another task
  std::string to_string() const;
};

struct SubmitOptions {
  std::string db_url;      // as given to --db: written into the array's script
  std::string irene_path;  // the irene binary the tasks run (on a file system every node sees)
  std::string work_dir;    // the array's script and its tasks' logs go here
  bool local = false;      // run the tasks here, one after another, instead of sbatch
  bool dry_run = false;    // write the script and say what would be submitted, submit nothing
  CommandRunner commands;  // sbatch, squeue (default: system_commands())
  const std::atomic<bool>* cancel = nullptr;  // local runs stop after the point in flight
  std::function<void(const std::string&)> log;  // progress lines
};

struct SubmitResult {
  std::string job_id;   // Slurm's array job, or "local-HOST-PID"
  std::string script;   // the sbatch script written (Slurm only)
  int64_t tasks = 0, points = 0;
  int64_t already_done = 0, in_flight = 0;  // left out: done, or held by a live task
  TaskSummary local;    // --local: what the tasks did
  Status local_status;  // --local: why they stopped early (cancelled, the store gone)
};

// Records the campaign and submits all its points. A campaign already submitted is
// refused (resume it instead).
Result<SubmitResult> submit(const CampaignSpec& spec, store::Store& store, const SubmitOptions& options);
// Submits the points of a recorded campaign that are not done and not held by a task
// still queued or running. With nothing left to do it submits nothing.
Result<SubmitResult> resume(const CampaignSpec& spec, store::Store& store, const SubmitOptions& options);

struct TaskOptions {
  std::string task;  // who runs: "slurm:JOB_TASK" or "local:HOST:PID" (see this_task())
  const std::atomic<bool>* cancel = nullptr;  // stop after the node in flight (SIGTERM)
  std::function<void(const std::string&)> log;
};
// "slurm:ARRAYJOB_TASK" inside a Slurm array task, else "local:HOST:PID".
std::string this_task();

// Profiles the points with these indices of the recorded campaign, writing each to the
// store as it finishes (or fails). Points already done are skipped; a point that fails is
// recorded with its error and does not stop the others. Errors: the store gone (after
// its retries; the points before are kept) or Cancelled (SIGTERM: the point in flight is
// recorded as failed, "interrupted", and the rest are left for resume).
Result<TaskSummary> run_task(store::Store& store, const std::string& campaign, const std::vector<int64_t>& indices,
                             const TaskOptions& options);

// A campaign's progress, from the store and, where Slurm's commands answer, from squeue
// and sacct.
struct Progress {
  store::CampaignRecord campaign;
  CampaignSpec spec;
  int64_t done = 0, failed = 0, running = 0, lost = 0, not_started = 0;
  int64_t repeats_discarded = 0;  // measurements of done points that were dropped
  std::vector<store::PointRecord> points;  // with a row in the store, by index
  std::vector<store::SubmissionRecord> submissions;
  std::optional<std::set<std::string>> live_tasks;  // "slurm:JOB_TASK" queued or running; unset without squeue
  nlohmann::json accounting;  // sacct's rows per task (state, elapsed, consumed energy), or a note
};
// `commands` null: the store alone (a running point counts as running). Otherwise a
// running point whose Slurm task squeue no longer lists, or whose local task was a process
// of this machine that is gone, is lost (without an answer from squeue, Slurm tasks count
// as running).
Result<Progress> progress(store::Store& store, const std::string& name, const CommandRunner* commands);
// {"name", "points", "done", "failed", "running", "lost", "not_started", "repeats_discarded",
//  "spec", "submissions", "results": [every point of the plan with its status and figures],
//  "slurm"}: `irene campaign status --format json` and GET /api/campaigns/{name}.
nlohmann::json to_json(const Progress& p);
std::string to_text(const Progress& p);

// Writes a campaign's measured points: "irene-csv", the IrEne CSV layout of
// predict/dataset.h (nodes with measured energy only: the layout's ground truth), or
// "profiles", one `irene profile` JSON per point (what `irene train --method roofline`
// reads). Says how many points and rows it wrote.
Result<std::string> export_campaign(store::Store& store, const std::string& name, const std::string& format,
                                    const std::string& dir);

}  // namespace irene::campaign
