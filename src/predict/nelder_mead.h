// Nelder-Mead simplex minimisation (reflection, expansion, contraction, shrink; Nelder &
// Mead 1965), for the few parameters the roofline's calibrations fit: no gradients
// needed, and the objectives (log errors of sums of max()es) are not smooth anyway.
#pragma once

#include <functional>
#include <vector>

namespace irene::predict {

using Objective = std::function<double(const std::vector<double>&)>;

// The best point found from `start` (initial simplex: each coordinate + `step`) within
// `max_evaluations` of `f`.
std::vector<double> nelder_mead(const Objective& f, std::vector<double> start, int max_evaluations, double step = 0.5);

}  // namespace irene::predict
