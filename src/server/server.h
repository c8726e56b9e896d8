// `irene serve`: the JSON HTTP API over the model tree and the predictors, and the
// dashboard's files. The server's public header; cpp-httplib stays in http_server.cc.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace irene::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db_url;          // the store (cache, profile jobs, campaigns); "" for store::default_store_url()
  store::RetryPolicy db_retry;
  std::string predictors_dir;  // calibrated predictors (*.json) besides the shipped PC1 ones
  std::string data_dir;        // measured data (IrEne CSV layout) to show beside predictions
  // Measured serving (ML.ENERGY layout, one folder per release) to show beside serving predictions.
  std::vector<std::string> serving_data_dirs;
  std::string web_dir;         // the dashboard's files
  int threads = 64;            // request handler threads (one per open keep-alive connection)
};

// Serves until SIGINT or SIGTERM. Fails at once when the port cannot be bound.
Status serve(const ServerOptions& options);

}  // namespace irene::server
