#include "cli/model_choice.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "tree/tree_format.h"

namespace irene::cli {

void ModelChoice::add_to(CLI::App* cmd) {
  auto* m = cmd->add_option("--model", model, "A bundled model (see `irene models`)");
  auto* c = cmd->add_option("--config", config_path, "Path to a Hugging Face config.json");
  m->excludes(c);
  c->excludes(m);
}

Result<models::ModelConfig> ModelChoice::resolve() const {
  if (model.empty() && config_path.empty()) return Status::invalid_argument("give --model NAME or --config PATH");
  return model.empty() ? models::load_config_file(config_path) : models::bundled_config(model);
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
