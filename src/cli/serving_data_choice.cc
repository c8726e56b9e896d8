#include "cli/serving_data_choice.h"

namespace irene::cli {

void ServingDataChoice::add_to(CLI::App* cmd) {
  cmd->add_option("--prompt-len", options.default_prompt_len, "roofline: prompt tokens where the data gives none")
      ->capture_default_str();
  cmd->add_option("--run-requests", options.default_run_requests,
                  "roofline: requests sent at once per measured run where the data gives no num_requests; its time "
                  "per output token is then the run's average, drain included (0: the steady state's)")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
}

}  // namespace irene::cli
