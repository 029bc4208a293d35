// What storcon.api() and every other call may put after storcon.url: an absolute path with no dot
// segments. libcurl (like any RFC 3986 client) removes "." and ".." segments before sending, so
// '/control/v1/node/..' or '/control/v1/%2e%2e/x' would reach another route than the one written,
// and storcon's router decodes %2e too. Refused here, before anything is sent.
#pragma once
#include "control/guard.hpp"

#include <string_view>

namespace storcon {

// Throws std::invalid_argument (naming the offending part) unless `path` starts with '/', holds no
// white space, control character, '#' or '\', no empty segment ("//"), no dot segment ("." or
// "..", raw or percent-encoded in any case, e.g. ".%2e" or "%2E%2e"), no percent-encoded '/' or '\'
// and no malformed percent escape. Only the part before '?' is a path; the query is not checked
// beyond the character rules.
void check_request_path(std::string_view path);

}  // namespace storcon
