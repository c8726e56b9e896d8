#include <algorithm>

#include "campaign/campaign.h"

namespace irene::campaign {

std::string Point::key() const {
  return model + " b=" + std::to_string(batch_size) + " s=" + std::to_string(seq_len) + " n=" +
         std::to_string(new_tokens) + " r=" + std::to_string(repetition);
}

std::vector<Point> plan(const CampaignSpec& spec) {
  std::vector<Point> out;
  for (const auto& m : spec.models)
    for (int64_t b : spec.batch_sizes)
      for (int64_t s : spec.seq_lens)
        for (int64_t n : spec.new_tokens)
          for (int r = 0; r < spec.repetitions; ++r)
            out.push_back({static_cast<int64_t>(out.size()), m, b, s, n, r});
  return out;
}

std::vector<std::vector<int64_t>> split_into_tasks(const std::vector<int64_t>& indices, int points_per_task) {
  std::vector<std::vector<int64_t>> tasks;
  const size_t per = static_cast<size_t>(std::max(1, points_per_task));
  for (size_t i = 0; i < indices.size(); i += per)
    tasks.emplace_back(indices.begin() + i, indices.begin() + std::min(indices.size(), i + per));
  return tasks;
}

}  // namespace irene::campaign
