// `irene machines`: the machine catalogue, with each machine's spec-sheet figures.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "machines/catalogue.h"

namespace irene::cli {

namespace {
std::string figure(const std::optional<double>& v, double scale, const char* format) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, *v / scale);
  return buf;
}
}  // namespace

Runner add_machines_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("machines", "List the machine catalogue (spec-sheet figures, with sources in json)");
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  return [format]() -> Status {
    const auto all = machines::catalogue();
    if (*format == "json") {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& m : all) rows.push_back(machines::to_json(m));
      std::cout << nlohmann::json{{"machines", rows}}.dump(2) << "\n";
      return Status::ok();
    }
    char line[320];
    std::snprintf(line, sizeof line, "%-16s %-34s %9s %9s %9s %8s %6s %6s\n", "id", "name", "fp32 TF/s", "bf16 TF/s",
                  "mem TB/s", "mem GB", "TDP W", "idle W");
    std::string text = line;
    for (const auto& m : all) {
      auto bf16 = m.peak_flops.count("bfloat16") ? std::optional<double>(m.peak_flops.at("bfloat16")) : std::nullopt;
      auto fp32 = m.peak_flops.count("float32") ? std::optional<double>(m.peak_flops.at("float32")) : std::nullopt;
      std::snprintf(line, sizeof line, "%-16s %-34.34s %9s %9s %9s %8s %6s %6s\n", m.id.c_str(), m.name.c_str(),
                    figure(fp32, 1e12, "%.1f").c_str(), figure(bf16, 1e12, "%.0f").c_str(),
                    figure(m.memory_bandwidth_bytes_per_s, 1e12, "%.2f").c_str(),
                    figure(m.memory_bytes, 1e9, "%.0f").c_str(), figure(m.tdp_w, 1, "%.0f").c_str(),
                    figure(m.idle_power_w, 1, "%.0f").c_str());
      text += line;
    }
    std::cout << text << "(dense peaks from each vendor's spec sheet; `--format json` gives every figure's source)\n";
    return Status::ok();
  };
}

}  // namespace irene::cli
