#include "extension/boundary.hpp"

#include "control/hints.hpp"
#include "control/json_fields.hpp"
#include "control/storcon_client.hpp"

#include <stdexcept>

namespace storcon::pg {

namespace {
int errcode_from_sqlstate(const char* s) { return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]); }
}  // namespace

void capture_current_exception(PendingError& out) noexcept {
  try {
    throw;
  } catch (const PgError& e) {
    out.pg = e.edata();
  } catch (const StorconError& e) {
    if (e.kind() == FailureKind::Aborted) out.cancelled = true;
    out.sqlerrcode = errcode_from_sqlstate(e.sqlstate());
    out.message = pstrdup(e.what());
    out.detail = pstrdup(e.detail().c_str());
    std::string hint = hint_for(e);
    if (!hint.empty()) out.hint = pstrdup(hint.c_str());
  } catch (const DecodeError& e) {
    out.sqlerrcode = ERRCODE_PROTOCOL_VIOLATION;
    out.message = psprintf("unexpected answer from storcon: %s", e.what());
  } catch (const IoError& e) {
    out.sqlerrcode = ERRCODE_IO_ERROR;
    out.message = pstrdup(e.what());
  } catch (const std::invalid_argument& e) {
    out.sqlerrcode = ERRCODE_INVALID_PARAMETER_VALUE;
    out.message = pstrdup(e.what());
  } catch (const std::bad_alloc&) {
    out.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    out.message = pstrdup("out of memory");
  } catch (const std::exception& e) {
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message = pstrdup(e.what());
  } catch (...) {
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message = pstrdup("unknown C++ exception");
  }
}

void raise_pending(const PendingError& err) {
  if (err.pg != nullptr) ReThrowError(err.pg);
  if (err.cancelled) CHECK_FOR_INTERRUPTS();  // raises the cancel / timeout / terminate error
  ereport(ERROR, (errcode(err.sqlerrcode), errmsg("%s", err.message),
                  err.detail ? errdetail("%s", err.detail) : 0, err.hint ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace storcon::pg
