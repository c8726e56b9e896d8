// The published benchmark scores of the bundled models (data/published-scores.json,
// shipped inside the binary): MMLU-Pro, GPQA-Diamond, LiveCodeBench and MMLU as each
// model's authors publish them, every score with its source, null where none was found.
#pragma once

#include <nlohmann/json.hpp>

#include "common/embedded.h"

namespace irene::leaderboard {

const std::vector<EmbeddedFile>& score_files();

// The whole file: {"_sources_note", "_benchmarks", "models": {id: {benchmark: {score, variant, source, ...}}}}.
const nlohmann::json& published_scores();

}  // namespace irene::leaderboard
