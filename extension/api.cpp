// storcon.api(method, path, body): one storcon call from SQL, the escape hatch for routes without a
// function of their own and the transport of every administration function in sql/. The answer's
// JSON comes back as jsonb; errors become SQL errors (storcon's message, DETAIL with status and
// route, a HINT where a remedy is known). storcon._long_api(...) is the same for operations storcon
// answers only when they are done (minutes): no storcon.request_timeout, progress NOTICEs,
// "ask again" answers followed, bounded by statement_timeout and cancellable.
#include "control/hints.hpp"
#include "control/long_call.hpp"
#include "control/request_path.hpp"
#include "control/storcon_client.hpp"
#include "extension/boundary.hpp"
#include "extension/storcon_call.hpp"

#include <optional>

extern "C" {
#include "access/htup_details.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(storcon_api);
PG_FUNCTION_INFO_V1(storcon_long_api);
}

namespace storcon::pg {

namespace {

void check_request(const std::string& method, const std::string& path) {
  static const char* const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  bool known = false;
  for (const char* m : methods) known = known || method == m;
  if (!known) throw std::invalid_argument("method must be one of GET, POST, PUT, PATCH, DELETE");
  check_request_path(path);
}

// The int4[] argument `argno` (NULL: empty), as plain C data: PostgreSQL code may raise here.
struct IntList {
  Datum* values = nullptr;
  bool* nulls = nullptr;
  int n = 0;
};

IntList int_array_arg(FunctionCallInfo fcinfo, int argno) {
  IntList out;
  if (PG_NARGS() <= argno || PG_ARGISNULL(argno)) return out;
  deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), INT4OID, sizeof(int32), true, TYPALIGN_INT, &out.values,
                    &out.nulls, &out.n);
  return out;
}

std::vector<long> to_vector(const IntList& list) {
  std::vector<long> out;
  for (int i = 0; i < list.n; i++)
    if (!list.nulls[i]) out.push_back(DatumGetInt32(list.values[i]));
  return out;
}

}  // namespace

}  // namespace storcon::pg

// storcon.api(method text, path text, body jsonb DEFAULT NULL) RETURNS jsonb
// storcon._api(method text, path text, body jsonb, in_progress_ok bool) RETURNS jsonb: with
// in_progress_ok, storcon's 408 ("still in progress, goes on in the background") is a NOTICE and
// the result is NULL.
Datum storcon_api(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("method and path must not be NULL")));
  char* method = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* path = text_to_cstring(PG_GETARG_TEXT_PP(1));
  char* body =
      PG_ARGISNULL(2) ? nullptr : DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
  bool in_progress_ok = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

  char* result = nullptr;  // palloc'd JSON text of the answer, NULL for an empty body
  char* notice = nullptr;  // palloc'd text of a tolerated 408
  storcon::pg::run_guarded([&] {
    const std::string m(method), p(path);
    storcon::pg::check_request(m, p);
    std::optional<nlohmann::json> payload;
    if (body != nullptr) payload = nlohmann::json::parse(body);
    auto& client = storcon::pg::storcon_client();
    try {
      const std::string answer = client.call(m, p, payload ? &*payload : nullptr).dump();
      storcon::pg::pg_call([&] { result = pstrdup(answer.c_str()); });
    } catch (const storcon::StorconError& e) {
      if (!(in_progress_ok && e.kind() == storcon::FailureKind::Http && e.status() == 408)) throw;
      const char* what = e.what();
      storcon::pg::pg_call([&] { notice = pstrdup(what); });
    }
  });
  if (notice != nullptr) {
    ereport(NOTICE, (errmsg("storcon is still working on it: %s", notice),
                     errhint("storcon goes on in the background.")));
    PG_RETURN_NULL();
  }
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result)));
}

// storcon._long_api(method text, path text, body jsonb, doing text, again int[] DEFAULT '{}',
//                   done_after_again int[] DEFAULT '{}', OUT status int, OUT answer jsonb)
// `doing` names the operation in the progress NOTICEs ("still <doing>: 12 s"); an answer whose
// status is in `again` means "ask again" (after a pause), one in `done_after_again` means done when
// it comes after an "ask again". Any other non-2xx answer is an error as in storcon.api().
Datum storcon_long_api(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
    ereport(ERROR,
            (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("method, path and doing must not be NULL")));
  char* method = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* path = text_to_cstring(PG_GETARG_TEXT_PP(1));
  char* body =
      PG_ARGISNULL(2) ? nullptr : DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
  char* doing = text_to_cstring(PG_GETARG_TEXT_PP(3));
  const storcon::pg::IntList again = storcon::pg::int_array_arg(fcinfo, 4);
  const storcon::pg::IntList done_after_again = storcon::pg::int_array_arg(fcinfo, 5);

  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("storcon._long_api must return a record")));

  long status = 0;
  char* result = nullptr;  // palloc'd JSON text of the answer
  storcon::pg::run_guarded([&] {
    const std::string m(method), p(path);
    storcon::pg::check_request(m, p);
    storcon::LongCallPolicy policy;
    policy.again = storcon::pg::to_vector(again);
    policy.done_after_again = storcon::pg::to_vector(done_after_again);
    std::optional<nlohmann::json> payload;
    if (body != nullptr) payload = nlohmann::json::parse(body);
    auto& client = storcon::pg::storcon_client();
    storcon::pg::PgLongCallProgress progress(doing, m + " " + p);
    storcon::LongCallResult r =
        storcon::run_long_call(client, m, p, payload ? &*payload : nullptr, policy, progress);
    status = r.status;
    const std::string answer = r.answer.dump();
    storcon::pg::pg_call([&] { result = pstrdup(answer.c_str()); });
  });

  Datum values[2];
  bool nulls[2] = {false, false};
  values[0] = Int32GetDatum(static_cast<int32>(status));
  values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(result));
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
