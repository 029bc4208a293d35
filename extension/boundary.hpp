// The PostgreSQL -> C++ boundary, the pg_duckdb discipline in two helpers:
//  - pg_call(f): runs PostgreSQL code that may ereport(ERROR) from C++. The ERROR is caught with
//    PG_TRY inside this one frame, its fields are COPIED into a C++ exception that owns them
//    (PgError), the error state is flushed, and the exception is thrown after PG_END_TRY: no
//    longjmp ever crosses a C++ frame, and no exception points into memory a later
//    AbortCurrentTransaction() frees. The lambda must hold no object with a destructor (a longjmp
//    out of it would skip it); a C++ exception it throws is carried past PG_END_TRY and rethrown.
//  - run_guarded(f): the body of every extern "C" entry point (SQL functions). Every C++
//    exception is caught and the PostgreSQL error is raised only after the catch block has ended.
// The opposite direction (C libraries calling back into C++) is control/callback_guard.hpp.
#pragma once

#include "extension/pg.hpp"

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace storcon::pg {

// A file the extension needs could not be read (SQLSTATE 58030, io_error).
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A PostgreSQL ERROR caught by pg_call, with its fields copied.
class PgError : public std::exception {
 public:
  PgError(int sqlerrcode, std::string message, std::string detail, std::string hint)
      : sqlerrcode_(sqlerrcode), message_(std::move(message)), detail_(std::move(detail)), hint_(std::move(hint)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  int sqlerrcode() const { return sqlerrcode_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }
  // A query cancel, statement timeout or similar interrupt (not a failure of the work itself).
  bool is_cancel() const { return sqlerrcode_ == ERRCODE_QUERY_CANCELED; }

 private:
  int sqlerrcode_;
  std::string message_, detail_, hint_;
};

namespace detail {
// The current error's fields, copied; the error state is flushed. Called in PG_CATCH only.
PgError take_error(MemoryContext caller_context) noexcept;
}  // namespace detail

template <typename F>
void pg_call(F&& f) {
  MemoryContext caller_context = CurrentMemoryContext;
  // Both assigned only in this frame, after a longjmp or a throw: nothing here is skipped.
  std::optional<PgError> caught;
  std::exception_ptr thrown;
  PG_TRY();
  {
    // A C++ exception must not leave PG_TRY either: PG_exception_stack would be left pointing
    // into this frame.
    try {
      f();
    } catch (...) {
      thrown = std::current_exception();
    }
  }
  PG_CATCH();
  {
    caught.emplace(detail::take_error(caller_context));
  }
  PG_END_TRY();
  if (thrown) std::rethrow_exception(thrown);
  if (caught) throw std::move(*caught);
}

// What run_guarded saw go wrong, kept in palloc'd C data so it survives leaving the catch block.
struct PendingError {
  int sqlerrcode = 0;
  char* message = nullptr;
  char* detail = nullptr;
  char* hint = nullptr;
  bool cancelled = false;  // an interrupt stopped the work: let CHECK_FOR_INTERRUPTS raise it
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
