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

// Prints `t` to stdout as text, json or csv.
void print_tree(const tree::Tree& t, const std::string& format, int max_depth);

}  // namespace irene::cli
