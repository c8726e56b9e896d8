// /api/campaigns: measurement campaigns as the store holds them (their progress, and each
// measured point beside what a predictor says of it). The server reads the store only;
// Slurm's own view is `irene campaign status`.
#include <map>
#include <tuple>

#include "campaign/campaign.h"
#include "server/api.h"
#include "server/params.h"

namespace irene::server {

ApiResponse Api::list_campaigns(const ApiRequest&) {
  auto all = store_->campaigns();
  if (!all.is_ok()) return ApiResponse::from_status(all.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : *all) {
    auto p = campaign::progress(*store_, c.name, nullptr);
    if (!p.is_ok()) {  // one unreadable record (a newer irene's spec) does not hide the others
      out.push_back({{"name", c.name}, {"created", c.created}, {"points", c.points}, {"error", p.status().message()}});
      continue;
    }
    nlohmann::json row = campaign::to_json(*p);
    row.erase("results");  // the list stays small; /api/campaigns/{name} has them
    row.erase("slurm");
    out.push_back(std::move(row));
  }
  return ApiResponse::json(200, {{"campaigns", out}, {"store", store_->describe()}});
}

ApiResponse Api::get_campaign(const ApiRequest& r) {
  const std::string machine = string_param(r, "machine").empty() ? "pc1" : string_param(r, "machine");
  if (!find_machine(machine))
    return ApiResponse::error(404, "not_found", "parameter 'machine': unknown machine '" + machine + "' (see /api/machines)");
  auto p = campaign::progress(*store_, r.id, nullptr);
  if (!p.is_ok()) return ApiResponse::from_status(p.status());
  nlohmann::json doc = campaign::to_json(*p);
  doc.erase("slurm");
  // Each configuration's prediction once, however many repetitions measured it.
  std::map<std::tuple<std::string, int64_t, int64_t>, std::optional<double>> predicted;
  for (auto& row : doc["results"]) {
    const auto key = std::make_tuple(row["model"].get<std::string>(), row["batch_size"].get<int64_t>(),
                                     row["seq_len"].get<int64_t>());
    if (!predicted.count(key))
      predicted[key] = predicted_energy(std::get<0>(key), std::get<1>(key), std::get<2>(key), machine);
    row["predicted_energy_j"] = predicted[key] ? nlohmann::json(*predicted[key]) : nlohmann::json();
  }
  doc["predicted_by"] = machine;
  return ApiResponse::json(200, doc);
}

}  // namespace irene::server
