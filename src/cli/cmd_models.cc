// `irene models`: the bundled models with family, layers and parameters.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "models/zoo.h"

namespace irene::cli {

Runner add_models_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List the bundled models");
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "Output format")->check(CLI::IsMember({"text", "json"}));
  return [format]() -> Status {
    nlohmann::json rows = nlohmann::json::array();
    std::string text;
    char line[256];
    std::snprintf(line, sizeof line, "%-36s %-11s %6s %7s %15s %8s\n", "model", "family", "layers", "hidden",
                  "parameters", "max_seq");
    text += line;
    for (const auto& name : models::bundled_model_names()) {
      IRENE_ASSIGN_OR_RETURN(models::ModelConfig config, models::bundled_config(name));
      IRENE_ASSIGN_OR_RETURN(models::ModelSummary s, models::summarize(config));
      std::snprintf(line, sizeof line, "%-36s %-11s %6lld %7lld %15lld %8lld\n", s.name.c_str(), s.family.c_str(),
                    static_cast<long long>(s.layers), static_cast<long long>(s.hidden_size),
                    static_cast<long long>(s.parameters), static_cast<long long>(s.max_seq_len));
      text += line;
      rows.push_back(models::to_json(s));
    }
    std::cout << (*format == "json" ? rows.dump(2) + "\n" : text);
    return Status::ok();
  };
}

}  // namespace irene::cli
