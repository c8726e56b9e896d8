#include "models/rotary.h"

#include <algorithm>
#include <cmath>

#include "trace/ops.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

Tensor exponents(int64_t count, int64_t denominator) {
  return at::arange(0, 2 * count, 2, at::kDouble) / static_cast<double>(denominator);
}

// theta^(-2i/d) for i < count.
Tensor base_frequencies(double theta, int64_t count, int64_t d) { return 1.0 / at::pow(theta, exponents(count, d)); }

double yarn_mscale(double factor, double mscale = 1.0) {
  return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

// YaRN: frequencies below the correction range keep their value, those above it are
// divided by the factor, a linear ramp blends between.
InverseFrequencies yarn(const RopeScaling& r, Tensor inv, double theta, int64_t dim) {
  const double orig = static_cast<double>(r.original_max_position_embeddings);
  auto correction_dim = [&](double rotations) {
    return static_cast<double>(dim) * std::log(orig / (rotations * 2 * M_PI)) / (2 * std::log(theta));
  };
  double low = correction_dim(r.beta_fast), high = correction_dim(r.beta_slow);
  if (r.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;
  Tensor ramp = ((at::arange(dim / 2, at::kDouble) - low) / (high - low)).clamp(0, 1);
  InverseFrequencies out;
  out.inv_freq = inv / r.factor * ramp + inv * (1 - ramp);
  if (r.attention_factor > 0) {
    out.attention_scaling = r.attention_factor;
  } else if (r.mscale > 0 && r.mscale_all_dim > 0) {
    out.attention_scaling = yarn_mscale(r.factor, r.mscale) / yarn_mscale(r.factor, r.mscale_all_dim);
  } else {
    out.attention_scaling = yarn_mscale(r.factor);
  }
  return out;
}

// Llama 3.1's rule: long wavelengths are divided by the factor, short ones kept, the
// band between blended.
Tensor llama3(const RopeScaling& r, Tensor inv) {
  const double old_ctx = static_cast<double>(r.original_max_position_embeddings);
  const double low_wavelen = old_ctx / r.low_freq_factor, high_wavelen = old_ctx / r.high_freq_factor;
  Tensor wavelen = 2 * M_PI / inv;
  Tensor scaled = at::where(wavelen > low_wavelen, inv / r.factor, inv);
  const double band = r.high_freq_factor - r.low_freq_factor;
  if (band <= 0) return scaled;
  Tensor smooth = (old_ctx / wavelen - r.low_freq_factor) / band;
  Tensor blended = (1 - smooth) * scaled / r.factor + smooth * scaled;
  Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, blended, scaled);
}

}  // namespace

int64_t rotary_width(const Rope& rope, int64_t head_dim) {
  if (rope.scaling.type == "proportional") return head_dim;  // unrotated channels get frequency 0
  return static_cast<int64_t>(static_cast<double>(head_dim) * rope.partial_rotary_factor);
}

InverseFrequencies inverse_frequencies(const Rope& rope, int64_t head_dim, int64_t seq_len) {
  const RopeScaling& r = rope.scaling;
  const int64_t dim = rotary_width(rope, head_dim);
  InverseFrequencies out;
  if (r.type == "proportional") {
    // Gemma 4: the first (partial x head_dim / 2) pairs rotate with exponents over the
    // whole head; the rest do not rotate.
    const int64_t rotated = static_cast<int64_t>(rope.partial_rotary_factor * static_cast<double>(head_dim)) / 2;
    Tensor inv = at::zeros({dim / 2}, at::kDouble);
    inv.slice(0, 0, rotated).copy_(base_frequencies(rope.theta, rotated, head_dim));
    out.inv_freq = inv / r.factor;
    return out;
  }
  if (r.type == "dynamic") {
    // NTK: past the trained length the base grows with the context.
    const double orig = static_cast<double>(r.original_max_position_embeddings);
    const double seq = std::max(static_cast<double>(seq_len), orig);
    const double base = rope.theta * std::pow(r.factor * seq / orig - (r.factor - 1), static_cast<double>(dim) / (dim - 2));
    out.inv_freq = base_frequencies(base, dim / 2, dim);
    return out;
  }
  if (r.type == "longrope") {
    const bool long_context = seq_len > r.original_max_position_embeddings;
    const std::vector<double>& f = long_context ? r.long_factor : r.short_factor;
    Tensor ext = at::tensor(f, at::kDouble);
    out.inv_freq = 1.0 / (ext * at::pow(rope.theta, exponents(dim / 2, dim)));
    const double orig = static_cast<double>(r.original_max_position_embeddings);
    out.attention_scaling = r.attention_factor > 0 ? r.attention_factor
                            : r.factor <= 1        ? 1.0
                                                   : std::sqrt(1 + std::log(r.factor) / std::log(orig));
    return out;
  }
  Tensor inv = base_frequencies(rope.theta, dim / 2, dim);
  if (r.type == "linear") inv = inv / r.factor;
  if (r.type == "llama3") inv = llama3(r, inv);
  if (r.type == "yarn") return yarn(r, inv, rope.theta, dim);
  out.inv_freq = inv;
  return out;
}

RotaryEmbedding::RotaryEmbedding(const std::string& cls, std::vector<Table> tables, const Init& init)
    : HfModule(cls, tree::NodeKind::kMl), tables_(std::move(tables)) {
  for (const Table& t : tables_) {
    const int64_t width = rotary_width(t.rope, t.head_dim);
    InverseFrequencies f = inverse_frequencies(t.rope, t.head_dim, /*seq_len=*/1);
    Tensor inv = init.meta() ? at::empty({width / 2}, init.options.dtype(at::kFloat))
                             : f.inv_freq.to(init.options.device(), at::kFloat);
    register_buffer(tables_.size() == 1 ? "inv_freq" : t.name + "_inv_freq", inv);
    inv_freq_.push_back(inv);
    scaling_.push_back(f.attention_scaling);
  }
}

std::vector<RotaryTables> RotaryEmbedding::forward(const Tensor& x, const Tensor& position_ids) {
  auto node = scope([=, this] { forward(x, position_ids); });
  std::vector<RotaryTables> out;
  for (size_t i = 0; i < tables_.size(); ++i) {
    Tensor inv_freq = inv_freq_[i];
    const RopeScaling& r = tables_[i].rope.scaling;
    if ((r.type == "dynamic" || r.type == "longrope") && !position_ids.is_meta()) {
      // Tables that depend on the context: recomputed for this step's last position.
      const int64_t seq_len = position_ids.max().item<int64_t>() + 1;
      inv_freq = inverse_frequencies(tables_[i].rope, tables_[i].head_dim, seq_len).inv_freq.to(x.device(), at::kFloat);
    }
    Tensor inv = ops::expand(ops::unsqueeze(ops::unsqueeze(inv_freq, 0), -1), {position_ids.size(0), -1, 1});
    Tensor pos = ops::to_dtype(ops::unsqueeze(position_ids, 1), at::kFloat);
    Tensor freqs = ops::transpose(ops::matmul(inv, pos), 1, 2);
    Tensor emb = ops::cat({freqs, freqs}, -1);
    // transformers multiplies by the attention scaling whatever it is (1 for most ropes).
    Tensor cos = ops::mul(ops::cos(emb), scaling_[i]);
    Tensor sin = ops::mul(ops::sin(emb), scaling_[i]);
    out.push_back({ops::to_dtype(cos, x.scalar_type()), ops::to_dtype(sin, x.scalar_type())});
  }
  return out;
}

namespace {
// cat(-x2, x1) of x's two halves along the last dimension.
Tensor rotate_half(const Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  Tensor x1 = ops::slice(x, -1, 0, half);
  Tensor x2 = ops::slice(x, -1, half, x.size(-1));
  return ops::cat({ops::neg(x2), x1}, -1);
}
}  // namespace

Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved) {
  const int64_t width = cos.size(-1), d = x.size(-1);
  Tensor rot = width < d ? ops::slice(x, -1, 0, width) : x;
  if (interleaved) {
    // (x0, x1, x2, x3, ...) -> (x0, x2, ..., x1, x3, ...): pairs become halves.
    std::vector<int64_t> shape(rot.sizes().begin(), rot.sizes().end());
    std::vector<int64_t> pairs = shape;
    pairs.back() = width / 2;
    pairs.push_back(2);
    rot = ops::reshape(ops::contiguous(ops::transpose(ops::view(ops::contiguous(rot), pairs), -1, -2)), shape);
  }
  Tensor out = ops::add(ops::mul(rot, cos), ops::mul(rotate_half(rot), sin));
  if (width < d) out = ops::cat({out, ops::slice(x, -1, width, d)}, -1);
  return out;
}

}  // namespace irene::models
