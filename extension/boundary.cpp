#include "extension/boundary.hpp"

#include "control/hints.hpp"
#include "control/json_fields.hpp"
#include "control/storcon_client.hpp"

#include <cstring>
#include <stdexcept>

namespace storcon::pg {

namespace {
// palloc'd copy that never raises: a catch block must not longjmp. NULL when out of memory.
char* copy(const char* s) noexcept {
  size_t n = std::strlen(s) + 1;
  char* out = static_cast<char*>(MemoryContextAllocExtended(CurrentMemoryContext, n, MCXT_ALLOC_NO_OOM));
  if (out != nullptr) std::memcpy(out, s, n);
  return out;
}

int errcode_from_sqlstate(const char* s) { return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]); }
}  // namespace

namespace detail {
PgError take_error(MemoryContext caller_context) noexcept {
  MemoryContextSwitchTo(caller_context);
  ErrorData* edata = CopyErrorData();
  FlushErrorState();
  try {
    PgError e(edata->sqlerrcode, edata->message ? edata->message : "unknown error", edata->detail ? edata->detail : "",
              edata->hint ? edata->hint : "");
    FreeErrorData(edata);
    return e;
  } catch (...) {
    return PgError(ERRCODE_OUT_OF_MEMORY, "", "", "");  // std::string's copy failed: out of memory
  }
}
}  // namespace detail

void capture_current_exception(PendingError& out) noexcept {
  try {
    throw;
  } catch (const PgError& e) {
    if (e.is_cancel()) out.cancelled = true;
    out.sqlerrcode = e.sqlerrcode();
    out.message = copy(e.what());
    if (!e.detail().empty()) out.detail = copy(e.detail().c_str());
    if (!e.hint().empty()) out.hint = copy(e.hint().c_str());
  } catch (const StorconError& e) {
    if (e.kind() == FailureKind::Aborted) out.cancelled = true;
    out.sqlerrcode = errcode_from_sqlstate(e.sqlstate());
    out.message = copy(e.what());
    try {  // building the texts may throw; the message alone is enough then
      out.detail = copy(e.detail().c_str());
      std::string hint = hint_for(e);
      if (!hint.empty()) out.hint = copy(hint.c_str());
    } catch (...) {
    }
  } catch (const DecodeError& e) {
    out.sqlerrcode = ERRCODE_PROTOCOL_VIOLATION;
    try {
      out.message = copy((std::string("unexpected answer from storcon: ") + e.what()).c_str());
    } catch (...) {
      out.message = copy("unexpected answer from storcon");
    }
  } catch (const IoError& e) {
    out.sqlerrcode = ERRCODE_IO_ERROR;
    out.message = copy(e.what());
  } catch (const std::invalid_argument& e) {
    out.sqlerrcode = ERRCODE_INVALID_PARAMETER_VALUE;
    out.message = copy(e.what());
  } catch (const std::bad_alloc&) {
    out.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    out.message = copy("out of memory");
  } catch (const std::exception& e) {
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message = copy(e.what());
  } catch (...) {
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message = copy("unknown C++ exception");
  }
}

void raise_pending(const PendingError& err) {
  if (err.cancelled) CHECK_FOR_INTERRUPTS();  // raises the cancel / timeout / terminate error
  ereport(ERROR, (errcode(err.sqlerrcode), errmsg("%s", err.message ? err.message : "out of memory"),
                  err.detail ? errdetail("%s", err.detail) : 0, err.hint ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace storcon::pg
