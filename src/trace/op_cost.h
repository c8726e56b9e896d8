// FLOPs and bytes of one aten op, counted by the IrEne dataset's conventions, so that
// irene's trees and the measured dataset agree node for node. No libtorch here.
//
// The conventions (from the IrEne paper's feature extractor, restated):
//  - unary ops count per element of their first input:
//      flops/elem and bytes/elem (x element size): abs 1/1, relu 1/2, gelu 6/2,
//      layer_norm 8/4, rsqrt 2/1, softmax 5/3, tanh 4/1, max/mean/min/sum 1/1;
//  - binary ops count per element of their output (broadcast result):
//      add, add_, div, pow, sub 1 flop / 2 elements; mul, mul_, rsub 1 flop / 3 elements;
//  - addmm [n,m]x[m,p]: 2nmp flops, (nm + mp + np) elements;
//  - matmul [m,n]x[n,p], [b,m,n]x[n,p], [a,b,m,n]x[a,b,n,p]: like addmm per batch;
//  - bmm [b,m,n]x[b,n,p]: like addmm per batch;
//  - embedding: no flops; bytes of the index tensor plus bytes of the output;
//  - clone: 2x input bytes; copy_: input + output bytes;
//  - every other op (views, reshapes, dropout, where, masked_fill, cumsum, stack, ...)
//    counts zero.
//
// Ops of the decoder LLMs, which the dataset never saw, follow irene's own rules in the
// same spirit (each reads its inputs once and writes its output once):
//  - unary per element of the input, flops/elements: neg 1/2, silu 4/2 (x * sigmoid(x)),
//    sigmoid 4/2, exp 1/2, cos 4/2, sin 4/2, log 4/2, softplus 4/2 (a few flops each, as
//    roofline tools count them), clamp 2/2 (two comparisons), isinf 1/2, floor 1/2,
//    square 1/2, floor_divide 1/2;
//  - linear [.., k] x [n, k]^T (+ bias): 2 x rows x k x n flops (+ rows x n for the
//    bias), (rows x k + k x n + rows x n (+ n)) elements: GEMM reading its weight once;
//  - cat: no flops, reads and writes its output's elements (2 x output);
//  - _to_copy (a dtype conversion): no flops, input bytes + output bytes at each's size;
//  - index / index_select (gathering rows): index bytes + 2 x output bytes;
//  - index_add_(self, index, source): one add per source element, 3 x source bytes
//    (read the source and the rows it lands on, write those rows);
//  - topk: one comparison per input element, input bytes + output bytes (values and
//    int64 indices);
//  - sort (along the last dim, n per row): n log2(n) comparisons; input bytes + output
//    bytes (values and int64 indices);
//  - gather: index bytes + 2 x output bytes, like index;
//  - scaled_dot_product_attention: see attention_cost.
// The fused ops of the 2025-26 mixers (conv1d with its state, the SSD scan, the delta
// rule, absorbed latent attention, sparse attention and its indexer, grouped expert
// products) give their own cost where they run (trace/mixer_ops.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace irene::trace {

struct TensorMeta {
  std::vector<int64_t> shape;
  int element_bytes = 4;   // 4 for float32 and int32, 8 for int64, 1 for bool/uint8
  std::string dtype = "float32";

  int64_t numel() const;
};

struct OpCost {
  int64_t flops = 0;
  int64_t mem_bytes = 0;
};

// Cost of `op` (an aten name such as "aten::addmm") given its tensor inputs, in call
// order, and its output. Ops outside the table cost zero, as in the dataset.
OpCost irene_op_cost(std::string_view op, const std::vector<TensorMeta>& inputs, const TensorMeta& output);

// One fused attention (aten::scaled_dot_product_attention) over q [b, h, s, d] and keys
// and values as the cache stores them, k [b, kv, L, d], v [b, kv, L, dv] (grouped-query
// attention reads each key/value head once for its h / kv query heads). FLOPs equal the
// eager path's ops: q x k^T (2 b h s L d), scaling (b h s L), the mask (b h s L), softmax
// (5 b h s L), logit soft-capping where the model has it (6 b h s L: divide, tanh, multiply),
// weights x v (2 b h s L dv). Bytes: q, k, v read once, the output written once; the
// score matrix never reaches memory.
OpCost attention_cost(const TensorMeta& q, const TensorMeta& k, const TensorMeta& v, const TensorMeta& out,
                      bool softcap);

// "[8,32,768] x [768,768] -> [8,32,768]"
std::string format_shapes(const std::vector<TensorMeta>& inputs, const TensorMeta& output);

}  // namespace irene::trace
