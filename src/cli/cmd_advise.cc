// `irene advise`: the setup that serves a model for the least energy per output token
// under latency objectives (advisor/advisor.h), why, and the frontier around it.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "advisor/advisor.h"
#include "advisor/explain.h"
#include "cli/commands.h"
#include "cli/model_choice.h"
#include "cli/progress.h"

namespace irene::cli {

namespace {

struct AdviseArgs {
  ModelChoice choice;
  std::string task, format = "text";
  int64_t prompt_len = 0, output_len = 0;
  double itl_slo_ms = 0, ttft_slo_s = 0;
  advisor::Request request;
};

std::string figure(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "as-stored" on the command line is the checkpoint's own format ("" inside).
Status settle_formats(std::vector<std::string>& formats) {
  for (std::string& q : formats) {
    if (q == "as-stored") q.clear();
    else if (q != "none" && q != "fp8" && q != "mxfp4" && q != "nvfp4")
      return Status::invalid_argument("--quantization '" + q + "': allowed are as-stored, none, fp8, mxfp4, nvfp4");
  }
  return Status::ok();
}

void print_candidate_line(const advisor::Candidate& c, const char* mark) {
  const serving::ServingEstimate& e = c.estimate;
  std::printf("  %s %-62s %8.4g J/token  ITL %6.1f ms  %7.0f tok/s/GPU\n", mark, c.describe().c_str(),
              e.energy_per_output_token_j, 1e3 * c.itl_s(), c.throughput_per_gpu());
}

}  // namespace

Runner add_advise_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "advise", "The serving setup (machine, GPUs, parallelism, batch, weight format, engine) with the least energy per "
                "output token under latency objectives");
  auto a = std::make_shared<AdviseArgs>();
  a->choice.add_to(cmd);
  std::string tasks;
  for (const advisor::Task& t : advisor::standard_tasks()) tasks += (tasks.empty() ? "" : ", ") + t.id;
  cmd->add_option("--task", a->task, "A standard workload: " + tasks + " (default chat)");
  cmd->add_option("--prompt-len", a->prompt_len, "Prompt tokens per request (instead of --task)");
  cmd->add_option("--output-len", a->output_len, "Output tokens per request (instead of --task)");
  cmd->add_option("--prompt-cached-share", a->request.prompt_cached_share,
                  "Share of each prompt already in the engine's prefix cache (0 to below 1: a shared system prompt, "
                  "a conversation's earlier turns); engines that cache none of the model's prompts apply none")
      ->capture_default_str();
  cmd->add_option("--itl-slo-ms", a->itl_slo_ms, "Median inter-token latency objective, ms");
  cmd->add_option("--ttft-slo-s", a->ttft_slo_s, "Time-to-first-token objective (without queueing), s");
  cmd->add_option("--machines", a->request.machines, "Catalogue GPUs to consider (default: all)")->delimiter(',');
  cmd->add_option("--max-gpus", a->request.max_gpus, "Most GPUs a setup may use (1, 2, 4, ... up to it)")
      ->capture_default_str();
  cmd->add_option("--quantization", a->request.quantizations,
                  "Weight formats to try: as-stored, none, fp8, mxfp4, nvfp4 (default: as stored, and fp8 / nvfp4 "
                  "where the GPU computes in them)")
      ->delimiter(',');
  cmd->add_option("--kv-cache-dtype", a->request.kv_cache_dtypes, "KV cache formats to try: auto, fp8 (default auto)")
      ->delimiter(',');
  cmd->add_option("--engine", a->request.engines, "Engines to try (default: the newest, on every machine)")
      ->delimiter(',');
  cmd->add_option("--batches", a->request.batches, "Running batches to try (default 1, 2, 3, 4, 5, 6, 7, 8, 10, ... 4096: four an octave)")
      ->delimiter(',');
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  return [a]() -> Status {
    advisor::Request& r = a->request;
    const bool lengths = a->prompt_len > 0 || a->output_len > 0;
    if (lengths && !a->task.empty())
      return Status::invalid_argument("give --task or --prompt-len/--output-len, not both");
    if (lengths) {
      if (a->prompt_len < 1 || a->output_len < 1)
        return Status::invalid_argument("--prompt-len and --output-len must both be given, at least 1");
      r.prompt_len = a->prompt_len;
      r.output_len = a->output_len;
    } else {
      IRENE_ASSIGN_OR_RETURN(advisor::Task t, advisor::find_task(a->task.empty() ? "chat" : a->task));
      r.prompt_len = t.prompt_len;
      r.output_len = t.output_len;
    }
    if (a->itl_slo_ms < 0 || a->ttft_slo_s < 0) return Status::invalid_argument("latency objectives must be positive");
    if (a->itl_slo_ms > 0) r.slo.itl_s = a->itl_slo_ms / 1e3;
    if (a->ttft_slo_s > 0) r.slo.ttft_s = a->ttft_slo_s;
    IRENE_RETURN_IF_ERROR(settle_formats(r.quantizations));
    for (std::string& kv : r.kv_cache_dtypes)
      if (kv == "auto") kv.clear();
    r.size_limits = false;  // the CLI serves every real model
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    const auto& available = serving::shipped_serving_predictors();
    advisor::Advice advice;
    {
      ProgressBar bar("searching setups");
      IRENE_ASSIGN_OR_RETURN(advice, advisor::advise(cfg, r, available, [&](size_t done, size_t total) {
                               bar.update(static_cast<int>(done), static_cast<int>(total));
                               return true;
                             }));
    }
    nlohmann::json doc = advisor::to_json(advice, r);
    doc["model"] = cfg.name;
    std::optional<advisor::Explanation> x;
    if (advice.best) {
      IRENE_ASSIGN_OR_RETURN(x, advisor::explain(cfg, advice.candidates[*advice.best], r, available));
      doc["explanation"] = advisor::to_json(*x);
    }
    if (a->format == "json") {
      std::cout << doc.dump(2) << "\n";
      return Status::ok();
    }
    std::printf("%s: %lld-token prompts, %lld output tokens", cfg.name.c_str(), static_cast<long long>(r.prompt_len),
                static_cast<long long>(r.output_len));
    if (r.prompt_cached_share > 0) std::printf(", %.0f %% of each prompt cached", 100 * r.prompt_cached_share);
    if (r.slo.itl_s) std::printf(", median ITL at most %.0f ms", 1e3 * *r.slo.itl_s);
    if (r.slo.ttft_s) std::printf(", TTFT at most %.3g s", *r.slo.ttft_s);
    std::printf("\n%lld setups searched, %lld fit in memory, %lld meet the objectives\n",
                static_cast<long long>(advice.searched), static_cast<long long>(advice.fitting),
                static_cast<long long>(advice.meeting));
    for (const std::string& e : advice.excluded) std::printf("  left out: %s\n", e.c_str());
    if (advice.best) {
      const advisor::Candidate& b = advice.candidates[*advice.best];
      const nlohmann::json& ans = x->answer.doc;
      auto interval = [&](const char* key, double scale) {
        const auto& iv = ans["intervals"][key];
        return iv.is_array() ? " (" + figure("%.0f", 100 * ans["intervals"]["level"].get<double>()) + " % interval " +
                                   figure("%.4g", iv[0].get<double>() * scale) + " - " +
                                   figure("%.4g", iv[1].get<double>() * scale) + ")"
                             : std::string(" (no interval)");
      };
      const advisor::Footprint f = advisor::per_million_tokens(b.estimate.energy_per_output_token_j);
      std::printf("\nLeast energy: %s\n", b.describe().c_str());
      std::printf("  energy per output token   %.4g J%s\n", b.estimate.energy_per_output_token_j,
                  interval("energy_per_output_token_j", 1).c_str());
      std::printf("  energy per request        %.4g J\n", b.estimate.energy_per_request_j);
      std::printf("  power (all GPUs)          %.4g W%s\n", b.estimate.power_w, interval("power_w", 1).c_str());
      std::printf("  median ITL                %.4g ms\n", 1e3 * b.itl_s());
      if (b.estimate.ttft_s) std::printf("  time to first token       %.4g ms (without queueing)\n", 1e3 * *b.estimate.ttft_s);
      std::printf("  throughput                %.4g tokens/s (%.4g per GPU)\n", b.estimate.throughput_tokens_per_s,
                  b.throughput_per_gpu());
      std::printf("  per million output tokens %.3g kWh, %.3g USD, %.3g kg CO2 (at %.2f USD/kWh, an assumption, and "
                  "%.0f g/kWh, the IEA world average)\n",
                  f.kwh, f.cost_usd, f.co2_g / 1e3, advisor::kDefaultUsdPerKwh, advisor::kDefaultGramsPerKwh);
      std::printf("  where the time goes       %s\n", x->time_split.c_str());
      std::printf("  where the energy goes (one decode step, summed over the layers):\n");
      for (const advisor::NodeShare& n : x->top_nodes)
        std::printf("    %5.1f %%  %s (%s, x%d)\n", 100 * n.share, n.path.c_str(), n.cls.c_str(), n.copies);
      std::printf("  (%s)\n", ans["basis"].get<std::string>().c_str());
      if (advice.runner_up) {
        std::printf("\nRunner-up: %s\n  why the pick: %s\n", advice.candidates[*advice.runner_up].describe().c_str(),
                    advice.why.c_str());
      }
    } else if (advice.closest_miss) {
      const advisor::Candidate& m = advice.candidates[*advice.closest_miss];
      std::printf("\nNothing meets the objectives. Closest: %s, missing by %.0f %% (ITL %.1f ms", m.describe().c_str(),
                  100 * (m.slo_ratio - 1), 1e3 * m.itl_s());
      if (m.estimate.ttft_s) std::printf(", TTFT %.0f ms", 1e3 * *m.estimate.ttft_s);
      std::printf(", %.4g J/token)\n", m.estimate.energy_per_output_token_j);
    } else if (advice.searched == 0) {
      std::printf("\nNothing to search: every machine was left out (above)\n");
    } else {
      std::printf("\nNo setup fits in memory%s%s\n", advice.needs.empty() ? "" : ": ", advice.needs.c_str());
    }
    if (!advice.frontier_itl.empty()) {
      std::printf("\nFrontier, energy per token against median ITL (* meets the objectives):\n");
      // At most a dozen, spread along it (all of them in --format json).
      const size_t n = advice.frontier_itl.size(), shown = std::min<size_t>(n, 12);
      for (size_t k = 0; k < shown; ++k) {
        const size_t i = advice.frontier_itl[shown == 1 ? 0 : k * (n - 1) / (shown - 1)];
        print_candidate_line(advice.candidates[i], advice.candidates[i].meets_slo ? "*" : " ");
      }
      if (shown < n) std::printf("  (%zu of its %zu setups shown; --format json lists all)\n", shown, n);
    }
    return Status::ok();
  };
}

}  // namespace irene::cli
