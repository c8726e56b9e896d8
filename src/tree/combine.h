// Trees made of trees: a generation's root over its prefill and decode phases, and the
// decode phase as the sum of its steps. No libtorch here.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "tree/tree.h"

namespace irene::tree {

// Appends a copy of `sub` below node `parent` of `into` (depths shifted to fit) and
// returns the index of the copy's root. Pre-order is kept: call it on the last node
// added, or call reorder() after.
int graft(Tree& into, int parent, const Tree& sub);

// Adds `step`'s figures (FLOPs, bytes, latency) to `sum`, node by node, matching nodes
// by path and class below matching parents; nodes that only `step` has are copied in
// (a mixture-of-experts step may route to experts earlier steps did not use).
void accumulate(Tree& sum, const Tree& step);

// The sum over `steps` steps of figures that change by the same amount from each step
// to the next (attention grows with the context, all else is constant): from the trees
// of the first and the last step, steps x (first + last) / 2, exact in integers. Both
// trees must have the same nodes; num_parameters and shapes are the first step's.
Result<Tree> affine_sum(const Tree& first, const Tree& last, int64_t steps);

// Adds `add`'s figures into `sum`; both must have the same nodes.
Status add_figures(Tree& sum, const Tree& add);

// Stores the nodes in pre-order again (after accumulate grafted nodes at the end).
void reorder(Tree& t);

}  // namespace irene::tree
