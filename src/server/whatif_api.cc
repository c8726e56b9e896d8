// /api/whatif: a serving setup (side A, the parameters of /api/serving) against the same
// with changes (side B: parameters "b.KEY", KEY a serving field or config.KEY), node by
// node (whatif/whatif.h). Cached like the other answers.
#include "server/api.h"
#include "server/params.h"
#include "server/serving_params.h"
#include "whatif/whatif.h"

namespace irene::server {

namespace {
constexpr const char* kWhatIfVersion = "whatif-v1";
constexpr size_t kMaxChanges = 16;
}  // namespace

ApiResponse Api::whatif(const ApiRequest& r) {
  ApiRequest side_a = r;
  std::vector<std::pair<std::string, std::string>> changes;
  for (const auto& [k, v] : r.query)
    if (k.rfind("b.", 0) == 0) changes.emplace_back(k.substr(2), v);
  for (const auto& [k, v] : changes) side_a.query.erase("b." + k);
  if (changes.empty())
    return ApiResponse::error(400, "invalid_argument",
                              "name side B's changes as parameters b.KEY (e.g. b.quantization=fp8, b.machine=b200, "
                              "b.config.num_key_value_heads=4)");
  if (changes.size() > kMaxChanges)
    return ApiResponse::error(400, "invalid_argument", "at most " + std::to_string(kMaxChanges) + " changes");
  auto p = serving_params(side_a, nullptr);
  if (!p.is_ok()) return refusal(p.status());
  if (!p->sweep.empty()) return ApiResponse::error(400, "invalid_argument", "a what-if compares two setups: no sweep");
  std::string key = std::string(kWhatIfVersion) + "|" + p->key() + "|" + serving_version_;
  for (const auto& [k, v] : changes) key += "|" + k + "=" + v;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    whatif::Side a{p->config, p->machine, p->serving};
    IRENE_ASSIGN_OR_RETURN(whatif::Comparison c, whatif::compare(a, changes, serving_predictors_));
    return whatif::to_json(c, p->format.max_depth).dump();
  });
  if (!body.is_ok()) return refusal(body.status());
  return {200, *body};
}

}  // namespace irene::server
