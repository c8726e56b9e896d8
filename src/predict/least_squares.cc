#include "predict/least_squares.h"

#include <cmath>

namespace irene::predict {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += a[i] * b[i];
  return s;
}

Result<std::vector<double>> weighted_least_squares(const std::vector<std::vector<double>>& x,
                                                   const std::vector<double>& y, const std::vector<double>& w) {
  if (x.empty()) return Status::invalid_argument("least squares: no training rows");
  const size_t d = x.front().size();
  // Scale each column to max |value| 1 so that flops (1e9) and seconds (1e-5) mix.
  std::vector<double> col_scale(d, 0.0);
  for (const auto& r : x)
    for (size_t j = 0; j < d; ++j) col_scale[j] = std::max(col_scale[j], std::fabs(r[j]));
  for (double& c : col_scale)
    if (c == 0) c = 1;

  // Normal equations A beta = rhs, A = X'WX + ridge.
  std::vector<std::vector<double>> a(d, std::vector<double>(d + 1, 0.0));
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = 0; j < d; ++j) {
      const double xj = x[i][j] / col_scale[j];
      for (size_t k = 0; k < d; ++k) a[j][k] += w[i] * xj * x[i][k] / col_scale[k];
      a[j][d] += w[i] * xj * y[i];
    }
  }
  double trace = 0;
  for (size_t j = 0; j < d; ++j) trace += a[j][j];
  for (size_t j = 0; j < d; ++j) a[j][j] += 1e-12 * (trace > 0 ? trace : 1.0);

  // Gaussian elimination with partial pivoting.
  for (size_t c = 0; c < d; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < d; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    if (std::fabs(a[c][c]) < 1e-300) return Status::invalid_argument("least squares: singular system");
    for (size_t r = 0; r < d; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k <= d; ++k) a[r][k] -= f * a[c][k];
    }
  }
  std::vector<double> beta(d);
  for (size_t j = 0; j < d; ++j) beta[j] = a[j][d] / a[j][j] / col_scale[j];
  return beta;
}

}  // namespace irene::predict
