// `irene serving`: the steady state of an LLM server on a catalogued machine.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_choice.h"
#include "serving/serving.h"
#include "tree/tree_format.h"

namespace irene::cli {

namespace {
struct ServingArgs {
  ModelChoice choice;
  std::string machine, format = "text", dtype;
  serving::ServingConfig config;
  int max_depth = 3;
};
}  // namespace

Runner add_serving_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serving", "Steady-state serving energy of a decoder LLM on a machine of the catalogue");
  auto a = std::make_shared<ServingArgs>();
  a->choice.add_to(cmd);
  cmd->add_option("--machine", a->machine, "A machine of `irene machines`")->required();
  cmd->add_option("--num-gpus", a->config.num_gpus, "GPUs in tensor parallel")->capture_default_str();
  cmd->add_option("--batch-size,-b", a->config.batch_size, "Requests running at once (1-4096)")->capture_default_str();
  cmd->add_option("--prompt-len", a->config.prompt_len, "Prompt tokens per request")->capture_default_str();
  cmd->add_option("--output-len", a->config.output_len, "Generated tokens per request")->capture_default_str();
  cmd->add_option("--dtype", a->config.dtype, "float32, bfloat16 or float16 (default: the config's torch_dtype)");
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--max-depth", a->max_depth, "Depth of the step's tree to print")->capture_default_str();
  return [a]() -> Status {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig cfg, a->choice.resolve());
    IRENE_ASSIGN_OR_RETURN(machines::MachineSpec machine, machines::find_machine(a->machine));
    IRENE_ASSIGN_OR_RETURN(serving::ServingWorkload w, serving::ServingWorkload::build(cfg, a->config));
    const predict::RooflineParams params;  // uncalibrated: see the note in the output
    IRENE_ASSIGN_OR_RETURN(serving::ServingEstimate e, w.estimate(machine, params));
    IRENE_ASSIGN_OR_RETURN(tree::Tree step, w.step_tree(machine, params));
    const std::string basis = "from the spec sheet alone (uncalibrated roofline parameters); no interval yet";
    if (a->format == "json") {
      nlohmann::json doc = {{"model", cfg.name},
                            {"machine", machine.id},
                            {"num_gpus", a->config.num_gpus},
                            {"batch_size", a->config.batch_size},
                            {"prompt_len", a->config.prompt_len},
                            {"output_len", a->config.output_len},
                            {"energy_per_output_token_j", e.energy_per_output_token_j},
                            {"energy_per_request_j", e.energy_per_request_j},
                            {"power_w", e.power_w},
                            {"tpot_s", e.tpot_s},
                            {"throughput_tokens_per_s", e.throughput_tokens_per_s},
                            {"prefill_share", e.prefill_share},
                            {"basis", basis},
                            {"step", tree::to_json(step, {a->max_depth})}};
      std::cout << doc.dump(2) << "\n";
      return Status::ok();
    }
    char text[1024];
    std::snprintf(text, sizeof text,
                  "%s on %s x %d, %lld requests running, %lld-token prompts, %lld new tokens each\n"
                  "  energy per output token  %.4g J\n  energy per request       %.4g J\n  power (all GPUs)         %.4g W\n"
                  "  time per output token    %.4g ms\n  throughput               %.4g tokens/s\n"
                  "  prefill share            %.1f %% of each step's energy\n  (%s)\n",
                  cfg.name.c_str(), machine.name.c_str(), a->config.num_gpus,
                  static_cast<long long>(a->config.batch_size), static_cast<long long>(a->config.prompt_len),
                  static_cast<long long>(a->config.output_len), e.energy_per_output_token_j, e.energy_per_request_j,
                  e.power_w, e.tpot_s * 1e3, e.throughput_tokens_per_s, 100 * e.prefill_share, basis.c_str());
    std::cout << text << "one steady-state decode step (energies in J):\n" << tree::to_text(step, {a->max_depth});
    return Status::ok();
  };
}

}  // namespace irene::cli
