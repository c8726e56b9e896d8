#include "cli/model_choice.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "tree/tree_format.h"

namespace irene::cli {

void ModelChoice::add_to(CLI::App* cmd) {
  auto* m = cmd->add_option("--model", model,
                            "A bundled model (see `irene models`), or a Hub id ORG/NAME in the local Hugging Face cache");
  auto* c = cmd->add_option("--config", config_path, "Path to a Hugging Face config.json");
  m->excludes(c);
  c->excludes(m);
}

Result<models::ModelConfig> ModelChoice::resolve() const {
  if (model.empty() && config_path.empty()) return Status::invalid_argument("give --model NAME or --config PATH");
  return model.empty() ? models::load_config_file(config_path) : models::find_model(model);
}

void GenerationChoice::add_to(CLI::App* cmd) {
  cmd->add_option("--new-tokens,-n", new_tokens,
                  "Generate: a prefill over the prompt (--seq-len), then this many decode steps over a KV cache "
                  "(decoder LLMs; default 0: one forward pass)");
  decode_step_given = cmd->add_option("--decode-step", decode_step, "With --new-tokens: the tree of this decode step alone (0-based)");
  cmd->add_option("--dtype", dtype,
                  "float32, bfloat16 or float16 (decoder LLMs; default: the config's torch_dtype shapes-only, "
                  "float32 for real runs)");
  cmd->add_option("--attention", attention,
                  "sdpa (one fused node, the default) or eager (materialised scores: MatMul, Softmax)");
}

void GenerationChoice::apply_to(models::RunOptions& o) const {
  o.new_tokens = new_tokens;
  if (decode_step_given && decode_step_given->count() > 0) o.decode_step = decode_step;
  o.dtype = dtype;
  o.attention = attention;
}

void print_tree(const tree::Tree& t, const std::string& format, int max_depth) {
  tree::FormatOptions fo{max_depth};
  if (format == "json")
    std::cout << tree::to_json(t, fo).dump() << "\n";
  else if (format == "csv")
    std::cout << tree::to_csv(t, fo);
  else
    std::cout << tree::to_text(t, fo);
}

}  // namespace irene::cli
