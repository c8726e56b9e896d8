// Reading measured energy data in the IrEne CSV layout (the four *_level_features.csv
// files of ../shared/data/irene/README.md) into irene trees: one per (model,
// batch_size, seq_len), each the tree irene traces for that configuration (shapes
// only) with every CSV row attached to its node as a tree::Measurement.
//
// Joining rows to irene's own trees gives each measured node what the CSVs lack
// (parameter counts, the ops no child covers) in the vocabulary the rest of irene uses.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "tree/tree.h"

namespace irene::predict {

// The files of the layout, in the order they are read.
extern const char* const kDatasetFiles[4];

struct Dataset {
  std::vector<tree::Tree> trees;        // sorted by model, batch size, sequence length
  int rows = 0;                         // rows attached to nodes
  int skipped_rows = 0;                 // rows of models the zoo lacks, or of incomplete trees
  std::set<std::string> skipped_models;
  std::vector<std::string> incomplete_configs;  // configurations without a model-level row
  std::string fingerprint;              // of the four files' bytes (FNV-1a 64, hex)

  std::vector<std::string> model_names() const;  // sorted, distinct
};

// Errors: a missing file (NotFound), a malformed file (Corrupt: file, line, column), a
// row naming a node the model's tree lacks (Corrupt: file, line).
Result<Dataset> load_dataset(const std::string& dir);

}  // namespace irene::predict
