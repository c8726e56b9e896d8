// Options and output shared by the commands that take a model and print a tree.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "models/zoo.h"
#include "tree/tree.h"

namespace irene::cli {

// --model NAME | --config PATH, one of the two required.
struct ModelChoice {
  std::string model, config_path;
  void add_to(CLI::App* cmd);
  Result<models::ModelConfig> resolve() const;
};

// --new-tokens, --decode-step, --dtype, --attention: how a decoder LLM runs.
struct GenerationChoice {
  int64_t new_tokens = 0;
  int64_t decode_step = 0;
  CLI::Option* decode_step_given = nullptr;
  std::string dtype, attention;
  void add_to(CLI::App* cmd);
  void apply_to(models::RunOptions& options) const;
};

// Prints `t` to stdout as text, json or csv.
void print_tree(const tree::Tree& t, const std::string& format, int max_depth);

}  // namespace irene::cli
