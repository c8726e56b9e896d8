// The OpenAPI 3 description of the API (served at /api/openapi.json).
#include "server/api.h"

namespace irene::server {

namespace {

nlohmann::json query_param(const char* name, const char* description, bool required, const char* type) {
  return {{"name", name}, {"in", "query"}, {"required", required}, {"description", description},
          {"schema", {{"type", type}}}};
}

nlohmann::json json_response(const char* description) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
}

nlohmann::json error_responses(nlohmann::json responses) {
  responses["400"] = {{"$ref", "#/components/responses/Error"}};
  responses["404"] = {{"$ref", "#/components/responses/Error"}};
  responses["413"] = {{"$ref", "#/components/responses/Error"}};
  return responses;
}

// The POST form of /api/energy and /api/tree: a config.json and the GET form's parameters.
nlohmann::json posted_config_body() {
  return {{"required", true},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"properties",
                 {{"config", {{"type", "object"}, {"description", "A Hugging Face config.json (or give model)"}}},
                  {"model", {{"type", "string"}}},
                  {"batch_size", {{"type", "integer"}}},
                  {"seq_len", {{"type", "integer"}}},
                  {"new_tokens", {{"type", "integer"}}},
                  {"dtype", {{"type", "string"}}},
                  {"attention", {{"type", "string"}}},
                  {"machine", {{"type", "string"}}},
                  {"max_depth", {{"type", "integer"}}},
                  {"kinds", {{"type", "string"}}}}},
                {"required", {"batch_size", "seq_len"}}}}}}}}};
}

// The POST form of /api/serving.
nlohmann::json posted_serving_body() {
  nlohmann::json props = {{"config", {{"type", "object"}, {"description", "A Hugging Face config.json (or give model)"}}}};
  for (const char* k : {"model", "machine", "dtype", "kinds", "sweep"}) props[k] = {{"type", "string"}};
  for (const char* k : {"num_gpus", "pipeline_parallel", "batch_size", "prompt_len", "output_len", "run_requests",
                        "max_output_len", "max_depth"})
    props[k] = {{"type", "integer"}};
  props["values"] = {{"type", "array"}, {"items", {{"type", "integer"}}}};
  props["prompt_cached_share"] = {{"type", "number"}};
  return {{"required", true},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"properties", props},
                {"required", {"machine", "batch_size", "prompt_len", "output_len"}}}}}}}}};
}

}  // namespace

ApiResponse Api::openapi(const ApiRequest&) {
  const nlohmann::json size_params = nlohmann::json::array(
      {query_param("model", "A bundled model name from /api/models", true, "string"),
       query_param("batch_size", "Batch size, 1-64", true, "integer"),
       query_param("seq_len", "Sequence length, 1 to the model's max_seq_len", true, "integer"),
       query_param("new_tokens", "Decoder LLMs: decode steps after the prompt, 0-4096", false, "integer"),
       query_param("dtype", "Decoder LLMs: float32, bfloat16 or float16", false, "string"),
       query_param("attention", "Decoder LLMs: sdpa (default) or eager", false, "string"),
       query_param("max_depth", "Leave out nodes deeper than this, 0-64", false, "integer"),
       query_param("kinds", "Comma-separated node kinds to keep", false, "string")});
  nlohmann::json energy_params = size_params;
  energy_params.push_back(query_param("machine", "Machine id from /api/machines (default pc1)", false, "string"));
  const nlohmann::json serving_params = nlohmann::json::array(
      {query_param("model", "A bundled decoder LLM from /api/models", true, "string"),
       query_param("machine", "A machine id of the catalogue (/api/machines)", true, "string"),
       query_param("num_gpus", "GPUs in all, 1-64 (default 1): tensor parallel x pipeline stages", false, "integer"),
       query_param("pipeline_parallel", "pipeline stages, dividing num_gpus (default 1)", false, "integer"),
       query_param("batch_size", "Requests running at once, 1-4096", true, "integer"),
       query_param("prompt_len", "Prompt tokens per request, 1 to the model's max_seq_len", true, "integer"),
       query_param("output_len", "Tokens generated per request, 1-4096", true, "integer"),
       query_param("run_requests",
                   "A benchmark run of this many requests sent at once (more than batch_size): also its time per "
                   "output token, the drain included (answer's run); needs max_output_len",
                   false, "integer"),
       query_param("max_output_len", "With run_requests: the per-request output cap, above output_len", false,
                   "integer"),
       query_param("dtype", "float32, bfloat16 or float16 (default: the config's)", false, "string"),
       query_param("prompt_cached_share",
                   "Share of each prompt already in the engine's prefix cache, from 0 to below 1 (default 0); the answer's "
                   "prompt_cached_share is the share applied (0 where the engine caches none of the model's prompts)",
                   false, "number"),
       query_param("attention", "sdpa (default) or eager: engines that run transformers' ops (vllm-0.5.4)", false,
                   "string"),
       query_param("max_depth", "Depth of the step's tree, 0-64 (default 3)", false, "integer"),
       query_param("kinds", "Comma-separated node kinds to keep in the step's tree", false, "string"),
       query_param("sweep", "batch_size or num_gpus: also predict each of values", false, "string"),
       query_param("values", "Comma-separated values of the sweep, at most 32", false, "string")});
  nlohmann::json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "irene API"},
        {"version", "0.1.0"},
        {"description", "Where the energy of a Transformer model goes, node by node (see docs/api.md)."}}},
      {"paths",
       {{"/api/health", {{"get", {{"summary", "Liveness"}, {"responses", {{"200", json_response("ok")}}}}}}},
        {"/api/models", {{"get", {{"summary", "Bundled models"}, {"responses", {{"200", json_response("models")}}}}}}},
        {"/api/machines",
         {{"get", {{"summary", "Machines with predictors"}, {"responses", {{"200", json_response("machines")}}}}}}},
        {"/api/energy",
         {{"get",
           {{"summary", "The model tree with predicted energy (J), shares and features on every node"},
            {"parameters", energy_params},
            {"responses", error_responses({{"200", json_response("energy tree")}})}}},
          {"post",
           {{"summary", "The same for a config.json in the body"},
            {"requestBody", posted_config_body()},
            {"responses", error_responses({{"200", json_response("energy tree")}})}}}}},
        {"/api/tree",
         {{"get",
           {{"summary", "The model tree with model features only"},
            {"parameters", size_params},
            {"responses", error_responses({{"200", json_response("tree")}})}}},
          {"post",
           {{"summary", "The same for a config.json in the body"},
            {"requestBody", posted_config_body()},
            {"responses", error_responses({{"200", json_response("tree")}})}}}}},
        {"/api/serving",
         {{"get",
           {{"summary", "An LLM server's steady state on a machine: energy per token and request, power, time per "
                        "token, throughput, each with an interval; the tree of one step; a sweep; measured points"},
            {"parameters", serving_params},
            {"responses", error_responses({{"200", json_response("serving estimate")}})}}},
          {"post",
           {{"summary", "The same for a config.json in the body"},
            {"requestBody", posted_serving_body()},
            {"responses", error_responses({{"200", json_response("serving estimate")}})}}}}},
        {"/api/advise",
         {{"get",
           {{"summary", "The serving setup (machine, GPUs, TP/DP/EP layout, batch, weight and KV formats, engine) with "
                        "the least energy per output token under ITL/TTFT objectives: the pick with its serving answer, "
                        "time split and costliest nodes, the runner-up and why, Pareto frontiers, the closest miss"},
            {"parameters",
             nlohmann::json::array(
                 {query_param("model", "A bundled decoder from /api/models", true, "string"),
                  query_param("task", "chat (default), reasoning or code", false, "string"),
                  query_param("prompt_len", "Prompt tokens (with output_len, instead of task)", false, "integer"),
                  query_param("output_len", "Output tokens, 1-8192", false, "integer"),
                  query_param("itl_slo_ms", "Median inter-token latency objective, ms", false, "number"),
                  query_param("ttft_slo_s", "Time-to-first-token objective, s", false, "number"),
                  query_param("machines", "Comma-separated GPU ids (default all)", false, "string"),
                  query_param("max_gpus", "Most GPUs, 1-8 (default 8)", false, "integer"),
                  query_param("quantization", "Weight formats: as-stored, none, fp8, mxfp4, nvfp4", false, "string"),
                  query_param("kv_cache_dtype", "KV cache formats: auto, fp8", false, "string"),
                  query_param("engine", "Engines (default the newest)", false, "string"),
                  query_param("prompt_cached_share",
                              "Share of each prompt already in the prefix cache, from 0 to below 1 (default 0)", false,
                              "number")})},
            {"responses", error_responses({{"200", json_response("advice")}})}}},
          {"post",
           {{"summary", "The same for a config.json in the body (\"config\") or a model, with the same fields"},
            {"responses", error_responses({{"200", json_response("advice")}})}}}}},
        {"/api/advise/jobs",
         {{"get",
           {{"summary", "Advisor searches run as jobs, waiting, running and recently finished, newest first"},
            {"responses", {{"200", json_response("jobs")}}}}},
          {"post",
           {{"summary", "The search of /api/advise (its query parameters, or a JSON body as POST /api/advise's) as "
                        "a job: checked now, its progress (parts_done of parts_total) in the job's status"},
            {"responses",
             error_responses({{"202", json_response("job queued")}, {"429", {{"$ref", "#/components/responses/Error"}}}})}}}}},
        {"/api/advise/jobs/{id}",
         {{"parameters", {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}}},
          {"get",
           {{"summary", "Job status, progress and, when done, the /api/advise answer"},
            {"responses", error_responses({{"200", json_response("job")}})}}},
          {"delete", {{"summary", "Cancel a search"}, {"responses", error_responses({{"200", json_response("job")}})}}}}},
        {"/api/leaderboard",
         {{"get",
           {{"summary", "Every bundled decoder on every GPU that holds it at its least-energy setup under an ITL "
                        "objective, measured figures beside where loaded, published benchmark scores with sources"},
            {"parameters",
             nlohmann::json::array({query_param("tasks", "Comma-separated: chat, reasoning, code", false, "string"),
                                    query_param("itl_slo_ms", "Median ITL objective, ms (default 100)", false, "number"),
                                    query_param("max_gpus", "Most GPUs, 1-8 (default 8)", false, "integer"),
                                    query_param("format", "json (default) or csv", false, "string")})},
            {"responses", error_responses({{"200", json_response("leaderboard")}})}}}}},
        {"/api/whatif",
         {{"get",
           {{"summary", "A serving setup (the parameters of /api/serving) against the same with changes, given as "
                        "b.KEY parameters (b.machine, b.num_gpus, b.data_parallel, b.expert_parallel, b.batch_size, "
                        "b.engine, b.quantization, b.kv_cache_dtype, b.config.KEY for a config.json edit): both "
                        "answers and the tree of differences per output token, largest first"},
            {"parameters", serving_params},
            {"responses", error_responses({{"200", json_response("comparison")}})}}}}},
        {"/api/profiles",
         {{"get",
           {{"summary", "Profiles waiting, running and recently finished, newest first, without results"},
            {"responses", {{"200", json_response("profiles")}}}}},
          {"post",
           {{"summary", "Start a live profile"},
            {"requestBody",
             {{"required", true},
              {"content",
               {{"application/json",
                 {{"schema",
                   {{"type", "object"},
                    {"required", {"model", "batch_size", "seq_len"}},
                    {"properties",
                     {{"model", {{"type", "string"}}},
                      {"batch_size", {{"type", "integer"}}},
                      {"seq_len", {{"type", "integer"}}},
                      {"device", {{"type", "string"}, {"enum", {"cpu", "cuda"}}}},
                      {"settings", {{"type", "object"}, {"properties", {{"rounds", {{"type", "integer"}}}}}}}}}}}}}}}}},
            {"responses",
             error_responses({{"202", json_response("job queued")},
                              {"413", {{"$ref", "#/components/responses/Error"}}},
                              {"429", {{"$ref", "#/components/responses/Error"}}}})}}}}},
        {"/api/profiles/{id}",
         {{"parameters", {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}}},
          {"get", {{"summary", "Job status, progress and result"}, {"responses", error_responses({{"200", json_response("job")}})}}},
          {"delete", {{"summary", "Cancel a job"}, {"responses", error_responses({{"200", json_response("job")}})}}}}},
        {"/api/campaigns",
         {{"get",
           {{"summary", "Measurement campaigns in the store, each with its progress (done, failed, running, not "
                        "started) and submissions"},
            {"responses", error_responses({{"200", json_response("campaigns")}})}}}}},
        {"/api/campaigns/{name}",
         {{"parameters", {{{"name", "name"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}}},
          {"get",
           {{"summary", "One campaign: its plan, progress, and every point with its status, measured latency and "
                        "energy, beside the predicted energy"},
            {"parameters",
             nlohmann::json::array({query_param("machine", "Machine whose predictor gives predicted_energy_j "
                                                           "(default pc1)", false, "string")})},
            {"responses", error_responses({{"200", json_response("campaign")}})}}}}}}},
      {"components",
       {{"responses",
         {{"Error",
           {{"description", "An error"},
            {"content",
             {{"application/json",
               {{"schema",
                 {{"type", "object"},
                  {"properties",
                   {{"error",
                     {{"type", "object"},
                      {"properties",
                       {{"code", {{"type", "integer"}}},
                        {"type", {{"type", "string"}}},
                        {"message", {{"type", "string"}}}}}}}}}}}}}}}}}}}}},
  };
  return ApiResponse::json(200, doc);
}

}  // namespace irene::server
