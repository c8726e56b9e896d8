// Options of the commands that fit or check the roofline on measured serving data
// (`irene train` and `irene crossval` with --method roofline): what the data leaves out.
#pragma once

#include <CLI/CLI.hpp>

#include "serving/calibration.h"

namespace irene::cli {

// --prompt-len, --run-requests: the defaults where the data gives no avg_input_tokens or
// num_requests column.
struct ServingDataChoice {
  serving::CalibrationOptions options;
  void add_to(CLI::App* cmd);
};

}  // namespace irene::cli
