// `irene serving`: the steady state of an LLM server on a catalogued machine.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/model_choice.h"
#include "engines/engine.h"
#include "serving/answer.h"
#include "tree/tree_format.h"

namespace irene::cli {

namespace {
struct ServingArgs {
  ModelChoice choice;
  std::string machine, format = "text", dtype, predictor;
  serving::ServingConfig config;
  int tensor_parallel = 0;  // 0: num-gpus / (pipeline stages x data-parallel replicas)
  int max_depth = 3;
};

// --tensor-parallel beside --num-gpus: either one gives the other (GPUs = tensor x
// pipeline x data parallel); both must agree.
Status settle_gpus(ServingArgs& a, bool gpus_given) {
  serving::ServingConfig& c = a.config;
  if (a.tensor_parallel < 0 || c.data_parallel < 1 || c.pipeline_parallel < 1)
    return Status::invalid_argument("--tensor-parallel, --pipeline-parallel and --data-parallel must be positive");
  if (a.tensor_parallel == 0) return Status::ok();
  const int64_t product = static_cast<int64_t>(a.tensor_parallel) * c.pipeline_parallel * c.data_parallel;
  if (!gpus_given) {
    if (product > 64) return Status::invalid_argument("tensor x pipeline x data parallel must be at most 64 GPUs");
    c.num_gpus = static_cast<int>(product);
  } else if (product != c.num_gpus) {
    return Status::invalid_argument("--num-gpus " + std::to_string(c.num_gpus) + " is not --tensor-parallel " +
                                    std::to_string(a.tensor_parallel) + " x --pipeline-parallel " +
                                    std::to_string(c.pipeline_parallel) + " x --data-parallel " +
                                    std::to_string(c.data_parallel));
  }
  return Status::ok();
}
}  // namespace

Runner add_serving_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serving", "Steady-state serving energy of a decoder LLM on a machine of the catalogue");
  auto a = std::make_shared<ServingArgs>();
  a->choice.add_to(cmd);
  cmd->add_option("--machine", a->machine, "A machine of `irene machines`")->required();
  auto* gpus = cmd->add_option("--num-gpus", a->config.num_gpus,
                               "GPUs in all: tensor parallel x pipeline stages x data-parallel replicas")
                   ->capture_default_str();
  std::string engines;
  for (const auto& e : engines::engine_catalogue()) engines += (engines.empty() ? "" : ", ") + e.id;
  cmd->add_option("--engine", a->config.engine,
                  "Serving engine: " + engines + " (default: the newest calibrated on the machine)");
  cmd->add_option("--tensor-parallel", a->tensor_parallel,
                  "GPUs each layer is split over (default: num-gpus / (pipeline stages x data-parallel replicas))");
  cmd->add_option("--data-parallel", a->config.data_parallel,
                  "Attention replicas, each with its own dense weights (engines with chunked prefill)")
      ->capture_default_str();
  cmd->add_flag("--expert-parallel", a->config.expert_parallel,
                "Spread the experts over the GPUs rather than split each (the same bytes per GPU)");
  cmd->add_option("--quantization", a->config.quantization,
                  "Weights as the engine stores them: none, fp8, mxfp4, nvfp4 (default: the config's "
                  "quantization_config, else its dtype)");
  cmd->add_option("--kv-cache-dtype", a->config.kv_cache_dtype, "auto (default), fp8, fp8_e4m3 or fp8_e5m2");
  cmd->add_option("--max-num-batched-tokens", a->config.max_num_batched_tokens,
                  "Tokens per iteration with chunked prefill (default: the engine's)");
  cmd->add_option("--prompt-cached-share", a->config.prompt_cached_share,
                  "Share of each prompt already in the engine's prefix cache (0 to below 1: a shared system prompt, "
                  "or the earlier turns of a conversation); those tokens skip the prefill")
      ->capture_default_str();
  cmd->add_option("--pipeline-parallel", a->config.pipeline_parallel,
                  "Pipeline stages (each of num-gpus / stages GPUs in tensor parallel)")
      ->capture_default_str();
  cmd->add_option("--batch-size,-b", a->config.batch_size, "Requests running at once (1-4096)")->capture_default_str();
  cmd->add_option("--prompt-len", a->config.prompt_len, "Prompt tokens per request")->capture_default_str();
  cmd->add_option("--output-len", a->config.output_len, "Generated tokens per request")->capture_default_str();
  cmd->add_option("--run-requests", a->config.run_requests,
                  "Also the time per output token averaged over a benchmark run of this many requests sent at once, "
                  "its drain included (as ML.ENERGY measures it); needs --max-output-len");
  cmd->add_option("--max-output-len", a->config.max_output_len, "With --run-requests: the per-request output cap");
  cmd->add_option("--dtype", a->config.dtype, "float32, bfloat16 or float16 (default: the config's torch_dtype)");
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--max-depth", a->max_depth, "Depth of the step's tree to print")->capture_default_str();
  cmd->add_option("--predictor", a->predictor,
                  "Serving predictor file (irene train --method roofline); default: the shipped one for the machine")
      ->check(CLI::ExistingFile);
  return [a, gpus]() -> Status {
    IRENE_RETURN_IF_ERROR(settle_gpus(*a, gpus->count() > 0));
    a->config.size_limits = false;  // the CLI serves every real model; limits protect the server
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    IRENE_ASSIGN_OR_RETURN(machines::MachineSpec machine, machines::find_machine(a->machine));
    std::optional<serving::ServingPredictor> chosen;
    if (!a->predictor.empty()) {
      IRENE_ASSIGN_OR_RETURN(chosen, serving::load_serving_predictor(a->predictor));
    }
    IRENE_ASSIGN_OR_RETURN(serving::Answer answer, serving::answer(cfg, machine, a->config,
                                                                   serving::shipped_serving_predictors(),
                                                                   chosen ? &*chosen : nullptr));
    const serving::MachinePredictor& p = answer.predictor;
    const serving::ServingEstimate& e = answer.estimate;
    const serving::ServingConfig& served = answer.served;
    const tree::Tree& step = *answer.step;
    nlohmann::json& doc = answer.doc;
    if (a->format == "json") {
      doc["step"] = tree::to_json(step, {a->max_depth});
      std::cout << doc.dump(2) << "\n";
      return Status::ok();
    }
    const auto& iv = doc["intervals"];
    auto figure = [&](const char* label, const char* key, double scale, const char* unit) {
      char line[256];
      const double v = doc[key].get<double>() * scale;
      if (iv[key].is_array())
        std::snprintf(line, sizeof line, "  %-25s %.4g %s  (%.0f %% interval %.4g - %.4g)\n", label, v, unit,
                      100 * iv["level"].get<double>(), iv[key][0].get<double>() * scale,
                      iv[key][1].get<double>() * scale);
      else
        std::snprintf(line, sizeof line, "  %-25s %.4g %s  (no interval)\n", label, v, unit);
      return std::string(line);
    };
    char head[640], stages[96] = "";
    if (served.pipeline_parallel > 1)
      std::snprintf(stages, sizeof stages, " (%d pipeline stages of %d)", served.pipeline_parallel,
                    served.num_gpus / served.pipeline_parallel);
    else if (served.data_parallel > 1)
      std::snprintf(stages, sizeof stages, " (%d data-parallel replicas of %d)", served.data_parallel,
                    served.num_gpus / served.data_parallel);
    std::snprintf(head, sizeof head,
                  "%s on %s x %d%s under %s, %lld requests running, %lld-token prompts, %lld new tokens each\n",
                  cfg.name.c_str(), machine.name.c_str(), served.num_gpus, stages, doc["engine_name"].get<std::string>().c_str(),
                  static_cast<long long>(served.batch_size), static_cast<long long>(served.prompt_len),
                  static_cast<long long>(served.output_len));
    // The parts of an iteration, those this engine and layout have (vLLM 0.5.4 samples in
    // the engine's time, V1 admits prompts without a stall, one engine waits on no other).
    const serving::ServingEstimate::TimeSplit& t = e.time_split;
    const double cycle = t.total_s();
    std::string parts;
    auto part = [&](const char* name, double s, bool always) {
      if (!always && !(s > 0)) return;
      char p[96];
      std::snprintf(p, sizeof p, "%s%s %.0f %%", parts.empty() ? "" : ", ", name, 100 * std::max(0.0, s) / cycle);
      parts += p;
    };
    part("decode kernels", t.decode_kernels_s, true);
    part("the sampler", t.sampler_s, false);
    part("the engine in decode", t.decode_engine_s, true);
    part("prefill", t.prefill_s, true);  // max(0, .): a rounding's -0 % where no prompt rides
    part("admission stalls", t.admission_s, false);
    part("waiting for the host the pipeline's engines share", t.host_wait_s, false);
    char tail[256];
    std::snprintf(tail, sizeof tail, "  %-25s %.1f %% of each step's energy\n  %-25s %.4g ms a decode iteration and the prefills after it: ",
                  "prefill share", 100 * e.prefill_share, "where the time goes", 1e3 * cycle);
    std::cout << head << figure("energy per output token", "energy_per_output_token_j", 1, "J")
              << figure("energy per request", "energy_per_request_j", 1, "J")
              << figure("power (all GPUs)", "power_w", 1, "W") << figure("time per output token", "tpot_s", 1e3, "ms")
              << figure("throughput", "throughput_tokens_per_s", 1, "tokens/s");
    if (e.itl_median_s)
      std::cout << figure("inter-token latency, median", "itl_median_s", 1e3, "ms")
                << figure("inter-token latency, p90", "itl_p90_s", 1e3, "ms")
                << figure("time to first token", "ttft_s", 1e3, "ms") << "  (time to first token: without queueing)\n";
    if (served.prompt_cached_share > 0) {
      char cached[256];
      if (e.prompt_cached_share > 0)
        std::snprintf(cached, sizeof cached, "  prefix cache: %.0f %% of each prompt's tokens found cached, not prefilled\n",
                      100 * e.prompt_cached_share);
      else
        std::snprintf(cached, sizeof cached,
                      "  prefix cache: none applied (%s does not cache this model's prompts)\n", e.engine.c_str());
      std::cout << cached;
    }
    // Expert parallelism's fixed cost is fitted, and says so: it changes the answer a lot.
    if (served.expert_parallel && served.num_gpus / served.pipeline_parallel > 1 && cfg.decoder.num_experts > 0 &&
        p.params.expert_parallel_latency_s > 0) {
      char ep[256];
      std::snprintf(ep, sizeof ep,
                    "  expert parallel: each fused MoE GEMM launch waits %.3g us on every GPU (fitted: "
                    "expert_parallel_latency_s of %s)\n",
                    1e6 * p.params.expert_parallel_latency_s, e.engine.c_str());
      std::cout << ep;
    }
    if (doc["memory"].is_object() && doc["memory"].contains("note"))
      std::cout << "  memory: " << doc["memory"]["note"].get<std::string>() << "\n";
    if (doc.contains("run")) {
      char run[256];
      std::snprintf(run, sizeof run, "  %-25s %.4g ms over a run of %lld requests sent at once, its drain included\n",
                    "time per token, run", 1e3 * doc["run"]["tpot_s"].get<double>(),
                    static_cast<long long>(served.run_requests));
      std::cout << run;
    }
    std::cout << tail << parts << "\n  (" << p.basis << ")\n"
              << "one steady-state decode step (energies in J):\n"
              << tree::to_text(step, {a->max_depth});
    return Status::ok();
  };
}

}  // namespace irene::cli
