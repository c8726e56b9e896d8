#include "predict/nelder_mead.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace irene::predict {

std::vector<double> nelder_mead(const Objective& f, std::vector<double> start, int max_evaluations, double step) {
  const size_t n = start.size();
  std::vector<std::vector<double>> x(n + 1, start);
  for (size_t i = 0; i < n; ++i) x[i + 1][i] += step;
  std::vector<double> y;
  for (const auto& t : x) y.push_back(f(t));
  int evaluations = static_cast<int>(n + 1);
  std::vector<int> order(x.size());
  while (evaluations < max_evaluations) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return y[a] < y[b]; });
    const int best = order.front(), worst = order.back(), second = order[order.size() - 2];
    if (std::fabs(y[worst] - y[best]) < 1e-10) break;
    std::vector<double> centroid(n, 0.0);
    for (int i : order)
      if (i != worst)
        for (size_t k = 0; k < n; ++k) centroid[k] += x[i][k] / static_cast<double>(n);
    auto along = [&](double a) {
      std::vector<double> t(n);
      for (size_t k = 0; k < n; ++k) t[k] = centroid[k] + a * (x[worst][k] - centroid[k]);
      return t;
    };
    const std::vector<double> r = along(-1);
    const double yr = f(r);
    ++evaluations;
    if (yr < y[best]) {
      const std::vector<double> e = along(-2);
      const double ye = f(e);
      ++evaluations;
      if (ye < yr) x[worst] = e, y[worst] = ye;
      else x[worst] = r, y[worst] = yr;
    } else if (yr < y[second]) {
      x[worst] = r, y[worst] = yr;
    } else {
      const std::vector<double> c = along(0.5);
      const double yc = f(c);
      ++evaluations;
      if (yc < y[worst]) {
        x[worst] = c, y[worst] = yc;
      } else {
        for (size_t i = 0; i < x.size(); ++i) {
          if (static_cast<int>(i) == best) continue;
          for (size_t k = 0; k < n; ++k) x[i][k] = x[best][k] + 0.5 * (x[i][k] - x[best][k]);
          y[i] = f(x[i]);
          ++evaluations;
        }
      }
    }
  }
  return x[std::min_element(y.begin(), y.end()) - y.begin()];
}

}  // namespace irene::predict
