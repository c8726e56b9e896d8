// Weighted linear least squares for the small regressions of the predictors.
// No libtorch here.
#pragma once

#include <vector>

#include "common/status.h"

namespace irene::predict {

// Minimises sum_i w_i (x_i . beta - y_i)^2. Columns are rescaled internally and a tiny
// ridge keeps collinear columns solvable. Errors when there are no rows.
Result<std::vector<double>> weighted_least_squares(const std::vector<std::vector<double>>& x,
                                                   const std::vector<double>& y, const std::vector<double>& w);

double dot(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace irene::predict
