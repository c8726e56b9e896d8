// `irene serve`: the JSON API and the dashboard.
#include "cli/commands.h"
#include "cli/db_choice.h"
#include "server/server.h"

namespace irene::cli {

Runner add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve the JSON API and the dashboard");
  auto o = std::make_shared<server::ServerOptions>();
  o->web_dir = IRENE_WEB_DIR;
  cmd->add_option("--host", o->host, "Address to listen on");
  cmd->add_option("--port", o->port, "Port to listen on")->check(CLI::Range(1, 65535));
  auto db = std::make_shared<DbChoice>();
  db->add_to(cmd, false);
  cmd->add_option("--predictors", o->predictors_dir, "Folder of calibrated predictors (*.json) to serve besides PC1 and the shipped serving predictors");
  cmd->add_option("--data", o->data_dir, "Measured data (IrEne CSV layout) to show beside predictions");
  cmd->add_option("--serving-data", o->serving_data_dirs,
                  "Measured LLM serving (ML.ENERGY layout, e.g. ../shared/data/mlenergy) to show beside serving "
                  "predictions; repeat it for several folders (v2 and v3)");
  cmd->add_option("--web", o->web_dir, "The dashboard's folder")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Request handler threads")->check(CLI::Range(2, 256));
  return [o, db]() -> Status {
    o->db_url = db->url_or_default();
    o->db_retry = db->retry();
    return server::serve(*o);
  };
}

}  // namespace irene::cli
