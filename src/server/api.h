// The API's handlers, on plain request/response types: they never see cpp-httplib.
// Parameters become typed values here, at the edge, and Status errors become the
// one JSON error shape.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "predict/dataset.h"
#include "server/cache.h"
#include "server/jobs.h"
#include "server/machines.h"
#include "server/server.h"
#include "serving/mlenergy.h"
#include "serving/predictor.h"

namespace irene::server {

struct ApiRequest {
  std::map<std::string, std::string> query;
  std::string body;
  std::string id;  // the {id} of /api/profiles/{id} and /api/campaigns/{id}
};

struct AdvisePlan;  // server/advise_api.cc

struct ApiResponse {
  int status = 200;
  std::shared_ptr<const std::string> body;  // JSON text, shared with the cache
  std::string content_type = "application/json";  // text/csv for a table asked for as CSV

  static ApiResponse json(int status, const nlohmann::json& doc);
  static ApiResponse error(int status, const std::string& type, const std::string& message);
  static ApiResponse from_status(const Status& s);  // the 4xx/5xx matching its code
};

// Largest inputs one request may ask for, so no request can exhaust memory.
constexpr int64_t kMaxBatchSize = 64;
constexpr int64_t kMaxProfileTokens = 4096;  // batch x sequence of a live profile
constexpr int64_t kMaxNewTokens = 4096;      // decode steps of a generation tree
constexpr size_t kMaxBodyBytes = 64 * 1024;  // a config.json is a few KB
constexpr size_t kMaxSweepPoints = 32;       // values of one /api/serving sweep

struct SizeParams;
struct ServingParams;

class Api {
 public:
  static Result<std::unique_ptr<Api>> create(const ServerOptions& options);

  ApiResponse health(const ApiRequest&);
  ApiResponse models(const ApiRequest&);
  ApiResponse machines(const ApiRequest&);
  ApiResponse energy(const ApiRequest&);
  ApiResponse tree(const ApiRequest&);
  ApiResponse post_energy(const ApiRequest&);  // the same, for a config.json in the body
  ApiResponse post_tree(const ApiRequest&);
  ApiResponse serving(const ApiRequest&);       // an LLM server's steady state (server/serving_api.cc)
  ApiResponse post_serving(const ApiRequest&);  // the same, for a config.json in the body
  ApiResponse advise(const ApiRequest&);        // the least-energy serving setup (server/advise_api.cc)
  ApiResponse post_advise(const ApiRequest&);   // the same, for a config.json in the body
  ApiResponse create_advise_job(const ApiRequest&);  // the same search as a job, with progress
  ApiResponse list_advise_jobs(const ApiRequest&);
  ApiResponse get_advise_job(const ApiRequest&);
  ApiResponse cancel_advise_job(const ApiRequest&);
  ApiResponse leaderboard(const ApiRequest&);   // every bundled decoder on every GPU (server/advise_api.cc)
  ApiResponse whatif(const ApiRequest&);        // two setups node by node (server/whatif_api.cc)
  ApiResponse openapi(const ApiRequest&);
  ApiResponse create_profile(const ApiRequest&);
  ApiResponse list_profiles(const ApiRequest&);
  ApiResponse get_profile(const ApiRequest&);
  ApiResponse cancel_profile(const ApiRequest&);
  ApiResponse list_campaigns(const ApiRequest&);  // server/campaign_api.cc
  ApiResponse get_campaign(const ApiRequest&);

 private:
  Api() = default;
  const Machine* find_machine(const std::string& id) const;
  std::string default_machine_id() const;  // the energy predictors' default (PC1)
  std::string default_gpu() const;         // where a decoder LLM opens
  ApiResponse gpu_energy_answer(const SizeParams& p, const machines::MachineSpec& gpu);
  ApiResponse latency_answer(const SizeParams& p, const predict::LatencyPredictor& predictor,
                             const std::string& version);
  // A job's description (after cancelling it, with `cancel`), or a 404 naming `noun`.
  ApiResponse job_response(Jobs& jobs, const std::string& id, const std::string& noun, bool cancel);
  ApiResponse energy_answer(const ApiRequest& r, const SizeParams& p);
  ApiResponse tree_answer(const SizeParams& p);
  const tree::Tree* measured_tree(const std::string& model, int64_t b, int64_t s) const;
  Status load_serving(const ServerOptions& options, std::vector<serving::ServingPredictor> predictors);
  Result<ServingParams> serving_params(const ApiRequest& r, const nlohmann::json* posted) const;
  ApiResponse serving_response(const ApiRequest& r, const nlohmann::json* posted);
  // The advice document of a checked request (cached), the search reporting its parts done
  // to `progress`, which stops it by returning false.
  Result<std::shared_ptr<const std::string>> advice_body(const AdvisePlan& plan,
                                                         const std::function<bool(size_t, size_t)>& progress);
  // The measured rows of the same architecture on the machine under the engine.
  nlohmann::json measured_serving(const models::ModelConfig& config, const std::string& machine_id,
                                  const std::string& engine) const;
  std::optional<double> predicted_energy(const std::string& model, int64_t batch_size, int64_t seq_len,
                                         const std::string& machine);

  std::shared_ptr<store::Store> store_;  // shared by the cache, the profile jobs' archive and the campaigns

  std::unique_ptr<ResultCache> cache_;
  std::vector<Machine> machines_;
  std::vector<predict::LatencyPredictor> latency_predictors_;  // per machine id (this-cpu)
  std::vector<std::string> latency_versions_;  // each one's fingerprint, for its answers' cache keys
  std::shared_ptr<const std::string> models_json_;
  predict::Dataset data_;
  std::map<std::tuple<std::string, int64_t, int64_t>, size_t> measured_index_;
  std::unique_ptr<Jobs> jobs_;         // live profiles
  std::unique_ptr<Jobs> advise_jobs_;  // advisor searches run as jobs
  std::vector<serving::ServingPredictor> serving_predictors_;  // shipped, or from --predictors
  std::string serving_version_;  // of those predictors, in cache keys
  serving::MeasuredData serving_data_;  // measured serving (ML.ENERGY layout) shown beside predictions
};

}  // namespace irene::server
