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

// "[8,32,768] x [768,768] -> [8,32,768]"
std::string format_shapes(const std::vector<TensorMeta>& inputs, const TensorMeta& output);

}  // namespace irene::trace
