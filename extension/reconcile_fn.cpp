// storcon.reconcile(): the rows of the hook worker's answer. The request and the wait are
// extension/worker_shmem.cpp (shared memory and the worker's latch: no HTTP to itself); this file
// turns the worker's JSON answer into rows (setting, old_value, new_value) or an error.
#include "extension/boundary.hpp"

#include <nlohmann/json.hpp>

namespace storcon::pg {

void emit_reconcile_rows(FunctionCallInfo fcinfo, int status, const char* json) {
  int n = 0;
  char** cells = nullptr;  // n rows x 3 columns, palloc'd
  run_guarded([&] {
    nlohmann::json answer = nlohmann::json::parse(json, nullptr, false);
    if (answer.is_discarded() || !answer.is_object()) throw std::runtime_error("the hook worker's answer is not JSON");
    if (status != 200) {
      std::string msg = answer.value("msg", std::string("the reconcile failed"));
      throw PgError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, msg, "", "See /status of the hook and the server log.");
    }
    const nlohmann::json changes = answer.value("changes", nlohmann::json::array());
    pg_call([&] { cells = static_cast<char**>(palloc0(sizeof(char*) * 3 * (changes.size() + 1))); });
    for (const auto& c : changes) {
      std::string v[3] = {c.value("setting", ""), c.value("old_value", ""), c.value("new_value", "")};
      for (int i = 0; i < 3; i++) {
        const char* s = v[i].c_str();
        pg_call([&] { cells[n * 3 + i] = pstrdup(s); });
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
}

}  // namespace storcon::pg
