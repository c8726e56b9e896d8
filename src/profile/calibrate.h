// Calibration: profile every combination of models and input sizes on this machine
// and write the results in the IrEne CSV layout, so that `irene train` and
// `irene crossval` work on the user's own hardware.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "profile/profile.h"

namespace irene::profile {

struct CalibrateOptions {
  std::vector<std::string> models;
  std::vector<int64_t> batch_sizes, seq_lens;
  std::string out_dir;
  ProfileOptions profile;  // batch_size and seq_len are set per combination
  std::function<void(int, int, const std::string&)> progress;  // (done, total, current)
};

// Measured trees in the IrEne CSV layout (predict/dataset.h): the four
// *_level_features.csv files, one row per node with measured energy (the layout's ground
// truth; a node without it has no row), FLOPs in millions and bytes in MiB.
class IreneCsvWriter {
 public:
  // Creates `dir` and the four files, each with its header row.
  static Result<std::unique_ptr<IreneCsvWriter>> create(const std::string& dir);
  // Rows for `t`'s measured nodes; the model level's row is named `model_name`. Returns the rows written.
  int add(const tree::Tree& t, const std::string& model_name);
  Status close();  // flushes; IoError when a file could not be written

 private:
  IreneCsvWriter() = default;
  std::string dir_;
  std::ofstream files_[4];
};

// Writes out_dir/{model,module,ml1,ml2}_level_features.csv (same columns and units as the
// IrEne dataset: FLOPs in millions, bytes in MiB) and out_dir/machine.json. Needs an
// energy meter: without one there is no ground truth to calibrate against.
Status calibrate(const CalibrateOptions& options);

}  // namespace irene::profile
