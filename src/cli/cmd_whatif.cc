// `irene whatif`: a serving setup (side A) against the same with changes (side B: --b
// KEY=VALUE, a serving field or config.KEY), node by node (whatif/whatif.h).
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "cli/model_choice.h"
#include "whatif/whatif.h"

namespace irene::cli {

namespace {

struct WhatIfArgs {
  ModelChoice choice;
  std::string machine, format = "text";
  serving::ServingConfig serving;
  std::vector<std::string> changes;
  int max_depth = 3;
};

std::string pct_change(double a, double b) {
  char s[32];
  if (a == 0) return "";
  std::snprintf(s, sizeof s, "%+.1f %%", 100 * (b / a - 1));
  return s;
}

// The tree of differences, largest first: at most `most` children a node, those that
// move at least a thousandth of the whole.
void print_diff(const whatif::NodeDiff& d, int depth, int max_depth, double whole, size_t most) {
  std::printf("%*s%-*s %12.4g %12.4g %+12.4g  %s\n", 2 * depth, "", 58 - 2 * depth,
              (d.path.empty() ? d.cls : d.path).c_str(), d.a_j, d.b_j, d.delta(),
              !d.in_a ? "(B only)" : !d.in_b ? "(A only)" : pct_change(d.a_j, d.b_j).c_str());
  if (depth >= max_depth) return;
  size_t shown = 0;
  for (const whatif::NodeDiff& c : d.children) {
    if (shown == most || std::abs(c.delta()) < 1e-3 * whole) break;
    print_diff(c, depth + 1, max_depth, whole, most);
    ++shown;
  }
}

}  // namespace

Runner add_whatif_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "whatif", "A serving setup against the same with changes (machine, GPUs, layout, formats, engine, config edits), "
                "node by node");
  auto a = std::make_shared<WhatIfArgs>();
  a->choice.add_to(cmd);
  a->serving.engine = "";
  cmd->add_option("--machine", a->machine, "Side A's machine (a GPU of `irene machines`)")->required();
  cmd->add_option("--num-gpus", a->serving.num_gpus, "Side A's GPUs")->capture_default_str();
  cmd->add_option("--data-parallel", a->serving.data_parallel, "Side A's data-parallel replicas")->capture_default_str();
  cmd->add_flag("--expert-parallel", a->serving.expert_parallel, "Side A spreads the experts whole");
  cmd->add_option("--batch-size,-b", a->serving.batch_size, "Side A's running requests")->capture_default_str();
  cmd->add_option("--prompt-len", a->serving.prompt_len, "Prompt tokens")->capture_default_str();
  cmd->add_option("--output-len", a->serving.output_len, "Output tokens")->capture_default_str();
  cmd->add_option("--prompt-cached-share", a->serving.prompt_cached_share,
                  "Side A's share of each prompt already in the prefix cache (0 to below 1)")
      ->capture_default_str();
  cmd->add_option("--engine", a->serving.engine, "Side A's engine (default: the newest calibrated on the machine)");
  cmd->add_option("--quantization", a->serving.quantization, "Side A's weights: none, fp8, mxfp4, nvfp4");
  cmd->add_option("--kv-cache-dtype", a->serving.kv_cache_dtype, "Side A's KV cache: auto, fp8");
  std::string fields;
  for (const std::string& f : whatif::changeable_fields()) fields += (fields.empty() ? "" : ", ") + f;
  cmd->add_option("--b", a->changes, "Side B's change, KEY=VALUE (repeatable); KEY one of " + fields)->required();
  cmd->add_option("--max-depth", a->max_depth, "Depth of the tree of differences")->capture_default_str();
  cmd->add_option("--format,-f", a->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  return [a]() -> Status {
    std::vector<std::pair<std::string, std::string>> changes;
    for (const std::string& c : a->changes) {
      IRENE_ASSIGN_OR_RETURN(auto kv, whatif::parse_change(c));
      changes.push_back(std::move(kv));
    }
    whatif::Side side;
    IRENE_ASSIGN_OR_RETURN(side.config, a->choice.resolve());
    IRENE_ASSIGN_OR_RETURN(side.machine, machines::find_machine(a->machine));
    side.serving = a->serving;
    side.serving.size_limits = false;
    IRENE_ASSIGN_OR_RETURN(whatif::Comparison c,
                           whatif::compare(side, changes, serving::shipped_serving_predictors()));
    if (a->format == "json") {
      std::cout << whatif::to_json(c, a->max_depth).dump(2) << "\n";
      return Status::ok();
    }
    const serving::ServingEstimate& ea = c.a.estimate;
    const serving::ServingEstimate& eb = c.b.estimate;
    std::string what;
    for (const auto& [k, v] : changes) what += (what.empty() ? "" : ", ") + k + "=" + v;
    std::printf("%s on %s x %d, batch %lld (A) against %s (B)\n", side.config.name.c_str(), side.machine.id.c_str(),
                c.a.served.num_gpus, static_cast<long long>(c.a.served.batch_size), what.c_str());
    std::printf("  %-26s %12s %12s %10s\n", "", "A", "B", "change");
    auto row = [](const char* label, double x, double y) {
      std::printf("  %-26s %12.4g %12.4g %10s\n", label, x, y, pct_change(x, y).c_str());
    };
    row("energy per output token, J", ea.energy_per_output_token_j, eb.energy_per_output_token_j);
    row("power, W", ea.power_w, eb.power_w);
    if (ea.itl_median_s && eb.itl_median_s) row("median ITL, ms", 1e3 * *ea.itl_median_s, 1e3 * *eb.itl_median_s);
    row("throughput, tokens/s", ea.throughput_tokens_per_s, eb.throughput_tokens_per_s);
    for (const std::string& n : c.notes) std::printf("  note: %s\n", n.c_str());
    std::printf("  (running requests as served, the memory check applied: A %lld, B %lld)\n",
                static_cast<long long>(c.a.served.batch_size), static_cast<long long>(c.b.served.batch_size));
    std::printf("\nWhere it changes, summed over the layers (J per output token, decode step):\n");
    for (size_t i = 0; i < c.by_kind.size() && i < 10; ++i) {
      const whatif::KindDiff& k = c.by_kind[i];
      std::printf("  %-58s %12.4g %12.4g %+12.4g  %s\n", k.path.c_str(), k.a_j, k.b_j, k.b_j - k.a_j,
                  pct_change(k.a_j, k.b_j).c_str());
    }
    std::printf("\nThe tree of differences, largest first (J per output token: A, B, B - A):\n");
    print_diff(c.root, 0, a->max_depth, std::max(std::abs(c.root.delta()), 1e-30), 6);
    return Status::ok();
  };
}

}  // namespace irene::cli
