// One array task: profile its points one by one, each written to the store the moment it
// is measured, so that a task stopped at any moment loses at most the point in flight.
#include <unistd.h>

#include <cstdlib>

#include "campaign/campaign.h"
#include "campaign/host.h"
#include "models/zoo.h"
#include "profile/profile.h"
#include "tree/tree_format.h"

namespace irene::campaign {

namespace {

// The campaign as recorded when it was submitted: the tasks measure exactly that plan.
Result<CampaignSpec> recorded_spec(store::Store& store, const std::string& campaign) {
  IRENE_ASSIGN_OR_RETURN(auto record, store.campaign(campaign));
  if (!record)
    return Status::not_found("campaign '" + campaign + "' is not in the store " + store.describe() +
                             " (`irene campaign submit FILE --db URL` records it)");
  const auto doc = nlohmann::json::parse(record->spec, nullptr, false);
  return parse_campaign(doc, "campaign '" + campaign + "' as recorded in " + store.describe(), false);
}

profile::ProfileOptions profile_options(const CampaignSpec& spec, const Point& p) {
  profile::ProfileOptions o;
  o.batch_size = p.batch_size;
  o.seq_len = p.seq_len;
  o.device = spec.profile.device;
  o.seconds_per_node = spec.profile.seconds_per_node;
  o.rounds = spec.profile.rounds;
  o.level = spec.profile.level;
  o.threads = spec.profile.threads;
  return o;
}

// The point measured: the same document `irene profile -o FILE.json` writes, and where it came from.
Result<store::PointRecord> measure(const CampaignSpec& spec, const Point& p, store::PointRecord record,
                                   const std::atomic<bool>* cancel) {
  IRENE_ASSIGN_OR_RETURN(models::ModelConfig config, models::find_model(p.model));
  profile::ProfileOptions o = profile_options(spec, p);
  o.cancel = cancel;
  IRENE_ASSIGN_OR_RETURN(profile::ProfileResult r, profile::profile_model(config, o));
  if (!r.complete) return Status(StatusCode::kCancelled, "interrupted before every node was measured");
  nlohmann::json doc = tree::to_json(r.tree);
  doc["profile"] = r.header;
  doc["campaign"] = {{"name", spec.name}, {"point", p.key()}, {"task", record.task}};
  if (const auto& m = r.tree.root().measured) {
    record.latency_s = m->times_mean_s;
    record.energy_j = m->energy_j;
  }
  record.result = doc.dump();
  record.finished = store::iso_time_now();
  return record;
}

}  // namespace

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string this_task() {
  const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* index = std::getenv("SLURM_ARRAY_TASK_ID");
  if (job && index && *job && *index) return std::string("slurm:") + job + "_" + index;
  if (const char* id = std::getenv("SLURM_JOB_ID"); id && *id) return std::string("slurm:") + id;
  return "local:" + host_name() + ":" + std::to_string(getpid());
}

std::string TaskSummary::to_string() const {
  return std::to_string(measured) + " measured, " + std::to_string(failed) + " failed, " + std::to_string(skipped) +
         " already done";
}

Result<TaskSummary> run_task(store::Store& store, const std::string& campaign, const std::vector<int64_t>& indices,
                             const TaskOptions& options) {
  IRENE_ASSIGN_OR_RETURN(CampaignSpec spec, recorded_spec(store, campaign));
  const std::vector<Point> points = plan(spec);
  for (int64_t i : indices)
    if (i < 0 || i >= static_cast<int64_t>(points.size()))
      return Status::invalid_argument("--points: " + std::to_string(i) + " is not a point of campaign '" + campaign +
                                      "' (0 to " + std::to_string(points.size() - 1) + ")");
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  TaskSummary sum;
  for (int64_t i : indices) {
    if (cancelled()) break;
    const Point& p = points[static_cast<size_t>(i)];
    store::PointRecord record;
    record.campaign = campaign;
    record.key = p.key();
    record.index = p.index;
    record.task = options.task;
    record.started = store::iso_time_now();
    // A store that stays away stops the task: the points before are already written.
    IRENE_ASSIGN_OR_RETURN(bool started, store.start_point(record));
    if (!started) {
      ++sum.skipped;
      log("point " + std::to_string(i) + " (" + p.key() + "): already done, skipped");
      continue;
    }
    log("point " + std::to_string(i) + " (" + p.key() + "): measuring");
    auto done = measure(spec, p, record, options.cancel);
    if (!done.is_ok()) {
      record.error = done.status().code() == StatusCode::kCancelled || cancelled()
                         ? "interrupted (SIGTERM or SIGINT: scancel, the time limit, or Ctrl-C)"
                         : done.status().message();
      record.finished = store::iso_time_now();
      IRENE_RETURN_IF_ERROR(store.fail_point(record));
      ++sum.failed;
      log("point " + std::to_string(i) + " (" + p.key() + "): failed: " + record.error);
      continue;
    }
    IRENE_ASSIGN_OR_RETURN(bool stored, store.finish_point(*done));
    ++sum.measured;
    log("point " + std::to_string(i) + " (" + p.key() + "): " +
        (stored ? "stored" : "another task had measured it already: kept the first measurement, counted this one"));
  }
  if (cancelled())
    return Status(StatusCode::kCancelled, "task " + options.task + " stopped: " + sum.to_string() + ", " +
                                              std::to_string(indices.size() - sum.measured - sum.failed - sum.skipped) +
                                              " not started (`irene campaign resume` submits them)");
  log("task " + options.task + ": " + sum.to_string());
  return sum;
}

}  // namespace irene::campaign
