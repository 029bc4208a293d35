// storcon.reconcile(): ask this server's hook worker to reconcile with storcon now, and return what
// it changed. The worker does the work (it owns the apply queue, so a reconcile never races a
// notification); this function calls its POST /reconcile over the local network.
#include "control/storcon_client.hpp"
#include "extension/boundary.hpp"
#include "extension/gucs.hpp"

#include <memory>

extern "C" {
PG_FUNCTION_INFO_V1(storcon_reconcile);
}

namespace {
// The bgworker's hook, reached from this machine.
std::string local_hook_url() {
  std::string addr = storcon::pg::guc_hook_listen_addr ? storcon::pg::guc_hook_listen_addr : "127.0.0.1";
  if (addr == "0.0.0.0" || addr.empty()) addr = "127.0.0.1";
  if (addr == "::") addr = "::1";
  if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
  bool tls = storcon::pg::guc_hook_tls_cert_file && storcon::pg::guc_hook_tls_cert_file[0] != '\0';
  return (tls ? "https://" : "http://") + addr + ":" + std::to_string(storcon::pg::guc_hook_port);
}

bool interrupt_pending() { return InterruptPending && (QueryCancelPending || ProcDiePending); }
}  // namespace

Datum storcon_reconcile(PG_FUNCTION_ARGS) {
  if (storcon::pg::guc_hook_port == 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the pg_storcon hook worker is disabled (storcon.hook_port = 0)")));
  int n = 0;
  char** cells = nullptr;  // n rows x 3 columns, palloc'd
  storcon::pg::run_guarded([&] {
    static std::unique_ptr<storcon::StorconClient> client;
    if (!client) client = std::make_unique<storcon::StorconClient>(interrupt_pending);
    storcon::ClientOptions o;
    o.base_url = local_hook_url();
    o.connect_timeout_ms = 2000;
    o.request_timeout_ms = 60000;
    // This machine's own hook: its certificate names the compute, not the loopback address we dial.
    o.verify_peer = false;
    client->set_options(o);
    nlohmann::json answer = client->call("POST", "/reconcile");
    const auto& changes = answer.at("changes");
    storcon::pg::pg_call([&] { cells = static_cast<char**>(palloc0(sizeof(char*) * 3 * (changes.size() + 1))); });
    for (const auto& c : changes) {
      std::string v[3] = {c.at("setting").get<std::string>(), c.at("old_value").get<std::string>(),
                          c.at("new_value").get<std::string>()};
      for (int i = 0; i < 3; i++) {
        const char* s = v[i].c_str();
        storcon::pg::pg_call([&] { cells[n * 3 + i] = pstrdup(s); });
      }
      n++;
    }
  });
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  for (int r = 0; r < n; r++) {
    Datum values[3];
    bool nulls[3] = {false, false, false};
    for (int i = 0; i < 3; i++) values[i] = CStringGetTextDatum(cells[r * 3 + i]);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}
