// A serving generation as one tree: a batch of B requests (prompts of S tokens, N new
// tokens each) as an engine serves them at its steady state, with three phases under the
// root, their energies summing to B x the serving answer's energy per request:
//   prefill  the B prompts: the serving answer's prefill share, handed to the nodes of
//            one prompt's prefill in proportion to each node's own kernels' cost as the
//            engine runs them (their figures x B);
//   decode   N steady-state decode steps (the step at the mean context, its figures x N
//            and x the pipeline's virtual engines);
//   engine   the engine's own time and the GPUs' waits (scheduling, sampling, admitting
//            prompts, collectives): no node of the model's, so a phase with no children.
// The decode phase's nodes are the step tree's (ServingWorkload::step_tree) scaled, so a
// node's share of a step is its share of the decode phase.
#pragma once

#include "common/status.h"
#include "machines/catalogue.h"
#include "predict/roofline.h"
#include "serving/serving.h"
#include "tree/tree.h"

namespace irene::serving {

// `estimate` is `workload.estimate(machine, params)`.
Result<tree::Tree> generation_tree(const ServingWorkload& workload, const ServingEstimate& estimate,
                                   const machines::MachineSpec& machine, const predict::RooflineParams& params);

}  // namespace irene::serving
