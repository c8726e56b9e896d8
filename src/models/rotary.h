// Rotary position embeddings: the inverse frequencies of every rope_scaling type
// transformers knows (modeling_rope_utils.py: default, linear, llama3, yarn, longrope,
// dynamic NTK, Gemma 4's proportional), the module that turns positions into cos and sin
// tables, and their application to queries and keys (half-split pairs, or DeepSeek's
// and Llama 4's interleaved pairs; the whole head or its leading part). Internal;
// includes libtorch.
#pragma once

#include <string>
#include <vector>

#include "models/config.h"
#include "models/decoder.h"

namespace irene::models {

// The frequencies of one rotary table and the factor its cos and sin carry (YaRN's and
// longrope's attention factor; 1 elsewhere). `head_dim` is the width the rope's partial
// factor applies to; `seq_len` the longest position + 1 the step sees (dynamic and
// longrope tables depend on it).
struct InverseFrequencies {
  at::Tensor inv_freq;  // float64, [rotated width / 2]
  double attention_scaling = 1.0;
};
InverseFrequencies inverse_frequencies(const Rope& rope, int64_t head_dim, int64_t seq_len);
// The width of the table (and of the rotated part of each head).
int64_t rotary_width(const Rope& rope, int64_t head_dim);

class RotaryEmbedding : public HfModule {
 public:
  struct Table {
    std::string name;  // StepContext::rotary key, and (with several tables) its buffer's prefix
    Rope rope;
    int64_t head_dim = 0;
  };
  RotaryEmbedding(const std::string& cls, std::vector<Table> tables, const Init& init);
  // cos and sin of each table for position_ids [1, s], in x's dtype.
  std::vector<RotaryTables> forward(const at::Tensor& x, const at::Tensor& position_ids);
  const std::vector<Table>& tables() const { return tables_; }

 private:
  std::vector<Table> tables_;
  std::vector<at::Tensor> inv_freq_;  // float32, per table
  std::vector<double> scaling_;
};

// x [b, heads, s, d] rotated by the tables [1, 1, s, w] (w <= d: the leading w channels
// rotate, the rest pass): pairs (i, i + w/2) as rotate_half does, or with `interleaved`
// pairs (2i, 2i + 1), de-interleaved first as transformers' DeepSeek code does.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved);

}  // namespace irene::models
