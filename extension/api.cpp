// storcon.api(method, path, body): one storcon call from SQL, the escape hatch for routes without a
// function of their own and the transport of every administration function in sql/. The answer's
// JSON comes back as jsonb; errors become SQL errors (storcon's message, DETAIL with status and
// route, a HINT where a remedy is known).
#include "control/hints.hpp"
#include "control/storcon_client.hpp"
#include "extension/boundary.hpp"
#include "extension/storcon_call.hpp"

#include <optional>

extern "C" {
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(storcon_api);
}

namespace storcon::pg {

namespace {

void check_request(const std::string& method, const std::string& path) {
  static const char* const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  bool known = false;
  for (const char* m : methods) known = known || method == m;
  if (!known) throw std::invalid_argument("method must be one of GET, POST, PUT, PATCH, DELETE");
  if (path.empty() || path[0] != '/')
    throw std::invalid_argument("path must start with / (it is appended to storcon.url)");
  for (char c : path)
    if (static_cast<unsigned char>(c) <= ' ' || c == '#' || c == '\\')
      throw std::invalid_argument("path must not contain white space, control characters, '#' or '\\'");
  if (path.find("//") != std::string::npos || path.find("/../") != std::string::npos)
    throw std::invalid_argument("path must not contain // or /../");
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
  char* body = PG_ARGISNULL(2) ? nullptr
                               : DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
  bool in_progress_ok = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

  char* result = nullptr;      // palloc'd JSON text of the answer, NULL for an empty body
  char* notice = nullptr;      // palloc'd text of a tolerated 408
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
