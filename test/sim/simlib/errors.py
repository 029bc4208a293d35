"""Errors and JSON output shaped like storcon's (contract §3.0).

Why this file exists: every route of the simulator fails the way storcon does, with a status code
and a {"msg": "<text>"} body carrying storcon's prefixes ("NotFound: ", "Conflict: ", ...).
"""

import json


class ApiError(Exception):
    """An error answer: status + storcon's message text (already prefixed)."""

    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


def bad_request(msg):
    return ApiError(400, msg)


def not_found(msg):
    return ApiError(404, "NotFound: " + msg)


def request_timeout(msg):
    """storcon's ApiError::Timeout: 408, the message without a prefix."""
    return ApiError(408, msg)


def conflict(msg):
    return ApiError(409, "Conflict: " + msg)


def precondition_failed(msg):
    return ApiError(412, "Precondition failed: " + msg)


def unavailable(msg):
    return ApiError(503, msg)


def internal_error(msg):
    return ApiError(500, msg)


def rust_debug_str(s):
    """Render s the way Rust's {:?} renders a str (used by --rust-debug-400)."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_bytes(value):
    """Compact JSON like serde_json emits (field order = dict insertion order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
