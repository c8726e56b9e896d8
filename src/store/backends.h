// The backends' constructors, for open_store(). Internal to src/store.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace irene::store {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const RetryPolicy& retry);
// `url` as libpq reads it; `redacted` the same without its password, for messages.
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, const std::string& redacted,
                                                   const RetryPolicy& retry);

}  // namespace irene::store
