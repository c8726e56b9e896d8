// Calibration: profile every combination of models and input sizes on this machine
// and write the results in the IrEne CSV layout, so that `irene train` and
// `irene crossval` work on the user's own hardware.
#pragma once

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

// Writes out_dir/{model,module,ml1,ml2}_level_features.csv (same columns and units as the
// IrEne dataset: FLOPs in millions, bytes in MiB) and out_dir/machine.json. Needs an
// energy meter: without one there is no ground truth to calibrate against.
Status calibrate(const CalibrateOptions& options);

}  // namespace irene::profile
