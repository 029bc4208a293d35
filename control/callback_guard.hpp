// The C++ -> C boundary. Every function a C library calls back into our code (libcurl's write and
// progress callbacks, libmicrohttpd's access, completion and logger callbacks, OpenSSL's
// passphrase callback, PostgreSQL's GUC check hooks) runs its body through guarded(): whatever the
// body throws (std::bad_alloc from an append, a bug), the library sees an ordinary C error value
// and no exception ever unwinds through its frames. The opposite direction (PostgreSQL code called
// from C++, whose ERROR must not longjmp over C++ frames) is extension/boundary.hpp's pg_call.
#pragma once
#include "control/guard.hpp"

#include <utility>

namespace storcon {

template <typename R, typename F>
R guarded(R on_exception, F&& body) noexcept {
  try {
    return std::forward<F>(body)();
  } catch (...) {
    return on_exception;
  }
}

}  // namespace storcon
