#include "cli/db_choice.h"

namespace irene::cli {

void DbChoice::add_to(CLI::App* cmd, bool required) {
  auto* o = cmd->add_option("--db", url,
                            "The store: sqlite:PATH (or a file path) or postgresql://[user@]host[:port]/database" +
                                std::string(required ? "" : " (default " + store::default_store_url() + ")"));
  if (required) o->required();
  cmd->add_option("--db-retries", retries,
                  "Tries of each store operation while the store cannot be reached, the wait doubling from 0.5 s "
                  "up to 30 s between them")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
}

store::RetryPolicy DbChoice::retry() const {
  store::RetryPolicy p;
  p.attempts = retries;
  return p;
}

Result<std::unique_ptr<store::Store>> DbChoice::open() const { return store::open_store(url_or_default(), retry()); }

}  // namespace irene::cli
