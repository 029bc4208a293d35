// The C++/PostgreSQL error boundary, in two helpers (the pg_duckdb pattern):
//  - pg_call(f): run PostgreSQL code that may ereport(ERROR) from C++. The error is caught with
//    PG_TRY, copied, and rethrown as a C++ PgError, so no longjmp crosses C++ frames.
//  - run_guarded(f): the body of every extern "C" entry point. C++ exceptions are caught, and the
//    PostgreSQL error is raised only after the catch block has ended.
// Lambdas given to pg_call must hold no objects with destructors of their own.
#pragma once

#include "extension/pg.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

namespace storcon::pg {

// A file the extension needs could not be read (SQLSTATE 58030, io_error).
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A PostgreSQL error caught by pg_call; owns a copy of the ErrorData (palloc'd).
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* edata) : edata_(edata) {}
  const char* what() const noexcept override { return edata_->message ? edata_->message : "error"; }
  ErrorData* edata() const { return edata_; }

 private:
  ErrorData* edata_;
};

template <typename F>
void pg_call(F&& f) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile edata = nullptr;  // volatile: assigned after the longjmp
  PG_TRY();
  {
    f();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (edata != nullptr) throw PgError(edata);
}

// What run_guarded saw go wrong, kept in palloc'd C data so it survives leaving the catch block.
struct PendingError {
  ErrorData* pg = nullptr;  // a PostgreSQL error to rethrow as it was
  int sqlerrcode = 0;
  char* message = nullptr;
  char* detail = nullptr;
  char* hint = nullptr;
  bool cancelled = false;  // a storcon call stopped for an interrupt: let CHECK_FOR_INTERRUPTS speak
};

// Fills `out` from the exception currently being handled. Call only inside a catch block.
void capture_current_exception(PendingError& out) noexcept;
// Raises the pending error (does not return).
[[noreturn]] void raise_pending(const PendingError& err);

template <typename F>
void run_guarded(F&& f) {
  PendingError err;
  try {
    f();
    return;
  } catch (...) {
    capture_current_exception(err);
  }
  raise_pending(err);
}

}  // namespace storcon::pg
