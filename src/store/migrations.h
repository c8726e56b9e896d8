// The store's schema, as the ordered list of migrations that build it. A store records
// the last version applied (SQLite: PRAGMA user_version; PostgreSQL: the irene_schema
// table) and opening it applies the rest, in one transaction, under a lock, so that many
// tasks opening a new store at once migrate it once. Never edit a released migration:
// add the next one. Internal to src/store.
#pragma once

#include <vector>

namespace irene::store {

struct Migration {
  int version;
  const char* description;
  // Statements valid in both SQLite and PostgreSQL.
  std::vector<const char*> statements;
};

const std::vector<Migration>& migrations();
int latest_schema_version();

}  // namespace irene::store
