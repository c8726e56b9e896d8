// The store: where irene keeps what must outlive a process and be shared between
// machines: the API's cached answers and finished profile jobs, measurement campaigns and
// every point they measured. One interface, two backends behind it:
//
//   sqlite:PATH (or a plain PATH)      embedded, one machine (the default, as before)
//   postgresql://... or postgres://... a server many cluster nodes write to at once
//
// Both hold one schema, brought up to date by versioned migrations when opened
// (store/migrations.h). Writes of campaign points are idempotent, keyed by what was
// measured: a point already done is never overwritten, so a task run twice or resumed
// keeps the first measurement and counts the repeat.
//
// Every method is thread-safe. A PostgreSQL store that goes away (a restart, a network
// cut) is retried with backoff (RetryPolicy) before an operation fails with an IoError
// saying so; a write either happened whole or not at all, so nothing already written is
// lost.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::store {

// How long an operation keeps trying while the store cannot be reached: `attempts` tries
// in all, the wait doubling from `first_delay_s` up to `max_delay_s` between them.
struct RetryPolicy {
  int attempts = 8;
  double first_delay_s = 0.5;
  double max_delay_s = 30.0;
};

// A campaign as submitted: its name, the campaign file's content (JSON, normalised) and
// how many points its plan holds.
struct CampaignRecord {
  std::string name;
  std::string spec;  // JSON text
  int64_t points = 0;
  std::string created;  // ISO 8601, UTC
};

// One submission of (part of) a campaign: a Slurm job array, or a local run.
struct SubmissionRecord {
  std::string campaign;
  std::string job_id;  // Slurm's job id of the array, or "local-<host>-<pid>"
  std::string kind;    // "slurm" or "local"
  int64_t tasks = 0, points = 0;
  std::string submitted;  // ISO 8601, UTC
};

// A point of a campaign as the store holds it. A point the store has no row for has not
// been started yet.
struct PointRecord {
  std::string campaign;
  std::string key;       // what was measured: "distilgpt2 b=1 s=32 n=0 r=0"
  int64_t index = 0;     // its place in the campaign's plan
  std::string status;    // "running", "done" or "failed"
  std::string task;      // who ran it last: "slurm:JOB_TASK" or "local:HOST:PID"
  int64_t attempts = 0;  // times a task started it
  int64_t measurements = 0;  // finished measurements offered; above 1, repeats were discarded
  std::string error;     // why it failed
  std::optional<double> latency_s, energy_j;  // the model's figures (energy: null without a meter)
  std::string result;    // the profile's JSON (tree and header); only when asked for
  std::string started, finished;  // ISO 8601, UTC
};

class Store {
 public:
  virtual ~Store() = default;

  // The URL without a password, for messages.
  virtual std::string describe() const = 0;
  virtual std::string backend() const = 0;  // "sqlite" or "postgresql"
  // The schema version this store is at (every migration this irene knows, once open).
  virtual Result<int> schema_version() = 0;

  // Key-value rows: the API's cached answers and archived profile jobs. put() replaces.
  virtual Result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual Status put(const std::string& key, const std::string& value) = 0;
  virtual Result<int64_t> count_values() = 0;

  // Records a campaign. The same name again with the same spec is a no-op; with another
  // spec it is an InvalidArgument (a campaign's points are defined by its file).
  virtual Status save_campaign(const CampaignRecord& campaign) = 0;
  virtual Result<std::optional<CampaignRecord>> campaign(const std::string& name) = 0;
  virtual Result<std::vector<CampaignRecord>> campaigns() = 0;  // by name
  virtual Status save_submission(const SubmissionRecord& submission) = 0;  // idempotent on (campaign, job_id)
  virtual Result<std::vector<SubmissionRecord>> submissions(const std::string& campaign) = 0;  // oldest first

  // A task starts measuring a point: false when the point is already done (nothing to do).
  virtual Result<bool> start_point(const PointRecord& point) = 0;
  // A point measured: true when stored, false when it was already done (the first
  // measurement is kept; this one only counts in `measurements`).
  virtual Result<bool> finish_point(const PointRecord& point) = 0;
  // A point that could not be measured; a point already done stays done.
  virtual Status fail_point(const PointRecord& point) = 0;
  // The campaign's points that have a row, by index; `with_results` also reads each
  // done point's profile JSON (large).
  virtual Result<std::vector<PointRecord>> points(const std::string& campaign, bool with_results) = 0;
};

// Opens (creating when needed) the store a URL names and migrates it to this irene's
// schema. An SQLite file that is not a database, or holds only cached answers of an
// unknown schema, is moved aside to "<path>.corrupt-<unix time>" with a warning and a new
// one is made; one holding campaign points of a newer schema is refused. Errors:
// InvalidArgument for a malformed URL, IoError when the store cannot be reached.
Result<std::unique_ptr<Store>> open_store(const std::string& url, const RetryPolicy& retry = {});

// "sqlite:PATH" or a plain path -> {"sqlite", PATH}; "postgresql://..." and
// "postgres://..." -> {"postgresql", the URL as libpq reads it}. InvalidArgument names
// what is allowed.
struct StoreUrl {
  std::string backend;
  std::string target;
  std::string redacted;  // the URL with any password replaced by ***
};
Result<StoreUrl> parse_store_url(const std::string& url);

// The default store: sqlite:$XDG_CACHE_HOME/irene/cache.sqlite (or ~/.cache/irene/...).
std::string default_store_url();

// Now, as the store writes times: "2024-05-01T12:00:00Z".
std::string iso_time_now();

}  // namespace irene::store
