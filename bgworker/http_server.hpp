// libmicrohttpd on the worker's one thread: external polling with epoll (no MHD thread), so every
// request is handled on the thread that may call PostgreSQL. The callbacks only copy data in and
// out: the first one refuses a request on its headers (control/hook_router, pure), the last one
// hands the complete request to the loop and SUSPENDS the connection; the loop decides and
// answers with answer(), which resumes it. A connection is resumed only if it is suspended, and
// only from the loop, never inside a callback. Requests are named by id, so an answer for a
// connection that went away is dropped, not written through a dangling pointer.
#pragma once

#include "control/hook_router.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct MHD_Daemon;
struct MHD_Connection;

namespace storcon::worker {

struct IncomingRequest {
  uint64_t id = 0;
  Endpoint endpoint = Endpoint::NotFound;
  std::string method, path, body;
  std::optional<std::string> authorization;
  bool forwarded = false;       // X-Pg-Storcon-Forwarded
  int64_t deadline_ms = 0;      // X-Pg-Storcon-Deadline-Ms, 0 = none
};

class HookServer {
 public:
  // Called in the first callback of each request (headers only); must be pure and noexcept.
  using HeadCheck = std::function<HeadDecision(const RequestHead&)>;

  // Throws std::runtime_error when the address is not an IP literal or the port cannot be bound.
  // tls_cert / tls_key: PEM text; both empty = plain HTTP. TLS 1.2 or newer only.
  HookServer(const std::string& listen_addr, int port, HeadCheck check, const std::string& tls_cert = "",
             const std::string& tls_key = "");
  ~HookServer();
  HookServer(const HookServer&) = delete;
  HookServer& operator=(const HookServer&) = delete;

  // The epoll fds to wait on (one per daemon: a second one while a TLS reload drains).
  std::vector<int> wait_fds() const;
  long timeout_ms(long cap) const;  // how long the loop may wait before run()
  void run();
  // Complete requests since the last call; each stays suspended until answer(id, ...).
  std::vector<IncomingRequest> take_arrived();
  // Answers a request taken from take_arrived(); false when it is gone (the client left).
  bool answer(uint64_t id, const HookReply& reply);
  // A connection was resumed since the last run(): its answer goes out at the next run().
  bool resumed_pending() const { return resumed_; }
  // New certificate and key (PEM): a new daemon takes over the listening socket; the old one
  // finishes its connections. Throws (keeping the old daemon) if they are refused.
  void reload_tls(const std::string& tls_cert, const std::string& tls_key);
  // MHD's own messages and refusals worth logging, collected in callbacks for the loop to log.
  std::vector<std::string> take_log();
  const std::string& listen() const { return listen_; }

  struct Conn;  // per request (MHD's con_cls)
  // Called by MHD through the C callbacks in http_server.cpp.
  int on_access(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                size_t* upload_data_size, void** con_cls);
  void on_completed(void** con_cls);
  void on_log(const char* msg);

 private:
  MHD_Daemon* start_daemon(int listen_fd, const std::string& tls_cert, const std::string& tls_key);

  HeadCheck check_;
  std::string listen_addr_;
  int port_ = 0;
  bool tls_ = false;
  std::string listen_;
  std::string cert_, key_;  // kept alive: MHD reads them while starting
  MHD_Daemon* daemon_ = nullptr;
  std::vector<MHD_Daemon*> draining_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Conn*> conns_;
  std::vector<uint64_t> arrived_;
  bool resumed_ = false;
  std::vector<std::string> log_;
};

}  // namespace storcon::worker
