// --db URL and --db-retries: the store a command reads and writes (store/store.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "store/store.h"

namespace irene::cli {

struct DbChoice {
  std::string url;  // "" for the default store
  int retries = store::RetryPolicy{}.attempts;
  // `required`: the command has no default store (a campaign's tasks must all name the same one).
  void add_to(CLI::App* cmd, bool required);
  std::string url_or_default() const { return url.empty() ? store::default_store_url() : url; }
  store::RetryPolicy retry() const;
  Result<std::unique_ptr<store::Store>> open() const;
};

}  // namespace irene::cli
