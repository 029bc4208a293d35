"""HTTP plumbing: the request handler and the threaded server.

Why this file exists: storcon answers over HTTP/1.1 with keep-alive; every answer carries a
Content-Length and an x-request-id.  The handler routes /__sim/ knobs, applies injected faults
(status, delay, hang, garbage) to storcon routes, logs every call, and hands the rest to the
simulator's dispatch.
"""

import http.server
import socket
import time
import urllib.parse
import uuid

from .errors import json_bytes


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive; every response has a Content-Length
    server_version = "storcon_sim"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):
        self.server.sim.log_line("http %s - %s" % (self.address_string(), format % args))

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, status, payload, content_type):
        try:
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-request-id", self.headers.get("x-request-id") or str(uuid.uuid4()))
            self.end_headers()
            if status not in (204, 304) and self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _serve(self):
        sim = self.server.sim
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(400, json_bytes({"msg": "Failed to read request body"}), "application/json")
            return
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        if path.startswith("/__sim/"):
            self._write(*sim.handle_knob(self.command, path, body))
            return
        entry = sim.log_incoming(self.command, path, query, body, self.headers.get("Authorization"))
        reply = None
        fault = sim.take_fault(self.command, path)
        if fault is not None:
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault["hang"]:
                fault["release"].wait(60)
                sim.finish_incoming(entry, None)
                self.close_connection = True      # close without ever answering
                return
            if fault["garbage"]:
                reply = (200, b"<html>storcon_sim: this is not JSON", "application/json")
            elif fault["status"] is not None:
                reply = (fault["status"], fault["body"].encode("utf-8"), "application/json")
        if reply is None:
            reply = sim.dispatch(self.command, path, query, self.headers, body)
        sim.finish_incoming(entry, reply[0])
        self._write(*reply)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
    do_HEAD = _serve


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sim):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.sim = sim

