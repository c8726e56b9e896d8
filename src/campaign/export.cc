// A campaign's measurements out of the store, in the layouts irene's training reads.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "campaign/campaign.h"
#include "profile/calibrate.h"
#include "tree/tree_format.h"

namespace irene::campaign {

namespace {

// "0007-distilgpt2-b1-s32-n0-r0.json": sorted like the plan, safe in any file system.
std::string profile_file_name(const store::PointRecord& p) {
  char index[16];
  std::snprintf(index, sizeof index, "%04lld-", static_cast<long long>(p.index));
  std::string name = index;
  for (char c : p.key) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')
      name += c;
    else if (c != '=')
      name += '-';
  }
  return name + ".json";
}

}  // namespace

Result<std::string> export_campaign(store::Store& store, const std::string& name, const std::string& format,
                                    const std::string& dir) {
  if (format != "irene-csv" && format != "profiles")
    return Status::invalid_argument("--format: '" + format + "'; allowed: irene-csv or profiles");
  IRENE_ASSIGN_OR_RETURN(auto record, store.campaign(name));
  if (!record) return Status::not_found("no campaign '" + name + "' in the store " + store.describe());
  IRENE_ASSIGN_OR_RETURN(auto points, store.points(name, true));
  std::unique_ptr<profile::IreneCsvWriter> csv;
  if (format == "irene-csv") {
    IRENE_ASSIGN_OR_RETURN(csv, profile::IreneCsvWriter::create(dir));
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::io_error("cannot create '" + dir + "': " + ec.message());
  }
  int written = 0, rows = 0, without_energy = 0;
  for (const auto& p : points) {
    if (p.status != "done") continue;
    const auto doc = nlohmann::json::parse(p.result, nullptr, false);
    if (doc.is_discarded()) return Status::corrupt("point '" + p.key + "' of campaign '" + name + "': result is not JSON");
    if (csv) {
      IRENE_ASSIGN_OR_RETURN(tree::Tree t, tree::from_json(doc));
      const int added = csv->add(t, t.model);
      rows += added;
      if (added == 0) ++without_energy;
    } else {
      const std::string file = dir + "/" + profile_file_name(p);
      std::ofstream out(file);
      if (!(out << p.result << "\n")) return Status::io_error("cannot write '" + file + "'");
    }
    ++written;
  }
  if (csv) IRENE_RETURN_IF_ERROR(csv->close());
  std::string said = "campaign " + name + ": " + std::to_string(written) + " measured points of " +
                     std::to_string(record->points) + " written to " + dir;
  if (csv) {
    said += " (" + std::to_string(rows) + " rows";
    if (without_energy > 0)
      said += "; " + std::to_string(without_energy) +
              " points had no measured energy (no meter where they ran) and so no rows";
    said += ")";
  }
  return said;
}

}  // namespace irene::campaign
