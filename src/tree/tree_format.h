// Writers for the model tree: indented text for people, CSV for spreadsheets, and the
// nested JSON that the API serves (schema in docs/tree-json.md).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tree/tree.h"

namespace irene::tree {

struct FormatOptions {
  int max_depth = -1;  // drop nodes deeper than this (below the JSON's root); -1 keeps all
  // Keep only nodes of these kinds (a node left out takes its subtree with it); empty
  // keeps all. E.g. everything but math: the ML-level tree a browser draws.
  std::vector<NodeKind> kinds;
  // JSON only: the node (an index into Tree::nodes) whose subtree the answer holds, and
  // at most about this many nodes (0: no limit): the answer stops at the deepest whole
  // level that fits (at least one level below the root). A node whose children were
  // left out by a depth cut says how many ("children_omitted"), so a client can ask for
  // its subtree (root = its "index") when it opens.
  int root = 0;
  size_t max_nodes = 0;
};

// The CSV header row, without a newline; trees with energies add kCsvEnergyColumns.
extern const char* const kCsvHeader;
extern const char* const kCsvEnergyColumns;
// Generation trees add this last column: the phase ("prefill", "decode") of each row.
extern const char* const kCsvPhaseColumn;

// One node's fields for kCsvHeader's eight columns, without a newline.
std::string csv_row(const Node& n);

std::string to_text(const Tree& tree, const FormatOptions& options = {});
std::string to_csv(const Tree& tree, const FormatOptions& options = {});
nlohmann::json to_json(const Tree& tree, const FormatOptions& options = {});

// Reads back what to_json wrote.
Result<Tree> from_json(const nlohmann::json& doc);

}  // namespace irene::tree
