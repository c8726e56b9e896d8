#include "profile/profile.h"

#include <cmath>
#include <fstream>
#include <thread>

#include "models/zoo.h"

namespace irene::profile {

Result<tree::Tree> profile_model(const models::ModelConfig& config, const ProfileOptions& o) {
  if (o.rounds < 1 || o.rounds > 100) return Status::invalid_argument("rounds must be from 1 to 100");
  IRENE_ASSIGN_OR_RETURN(auto runner, models::ModelRunner::create(config, {o.batch_size, o.seq_len}));
  IRENE_RETURN_IF_ERROR(runner->run_untraced());  // warm-up: allocation and lazy initialisation
  std::vector<double> sum, sum_sq;
  tree::Tree last;
  for (int r = 0; r < o.rounds; ++r) {
    if (o.cancel && o.cancel->load()) return Status(StatusCode::kCancelled, "profile cancelled");
    IRENE_ASSIGN_OR_RETURN(last, runner->trace());
    if (sum.empty()) {
      sum.assign(last.nodes.size(), 0.0);
      sum_sq.assign(last.nodes.size(), 0.0);
    }
    for (size_t i = 0; i < last.nodes.size(); ++i) {
      const double v = last.nodes[i].latency_s.value_or(0.0);
      sum[i] += v;
      sum_sq[i] += v * v;
    }
    if (o.progress) o.progress(static_cast<double>(r + 1) / o.rounds);
  }
  for (size_t i = 0; i < last.nodes.size(); ++i) {
    tree::Node& n = last.nodes[i];
    const double mean = sum[i] / o.rounds;
    n.latency_s = mean;
    if (n.kind == tree::NodeKind::kMath) continue;
    tree::Measurement m;
    m.times_mean_s = mean;
    n.measured = m;
  }
  return last;
}

std::string describe_machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

}  // namespace irene::profile
