// libmicrohttpd on the worker's one thread: external polling with epoll (no MHD thread), so every
// request is handled on the thread that may call PostgreSQL. The access handler only copies the
// request and asks the Dispatcher; requests that must wait (notifications being applied) are
// suspended and resumed later by the worker loop with resume().
#pragma once

#include "control/hook.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct MHD_Daemon;
struct MHD_Connection;

namespace storcon::worker {

constexpr size_t kMaxBodyBytes = 64 * 1024;
// Marks a notification forwarded by another compute's hook.
constexpr const char* kForwardedHeader = "X-Pg-Storcon-Forwarded";

struct Request {
  std::string method;
  std::string path;
  std::string body;
  std::optional<std::string> authorization;  // the Authorization header, if any
  bool from_this_host = false;               // the peer is a local address (loopback or our own)
  bool forwarded = false;                    // sent by another compute's hook (never forwarded again)
  Endpoint endpoint = Endpoint::NotFound;
  bool too_large = false;
  bool reply_ready = false;
  HookReply reply;
  MHD_Connection* connection = nullptr;  // set while suspended
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // Answer now (true, *reply filled) or take the request for later (false; the server suspends it).
  // Must not call PostgreSQL: it runs inside MHD_run.
  virtual bool dispatch(Request& req, HookReply* reply) = 0;
};

class HookServer {
 public:
  // Throws std::runtime_error when the address is not an IP literal or the port cannot be bound.
  // tls_cert / tls_key: PEM text; both empty = plain HTTP.
  HookServer(const std::string& listen_addr, int port, Dispatcher& dispatcher, const std::string& tls_cert = "",
             const std::string& tls_key = "");
  ~HookServer();
  HookServer(const HookServer&) = delete;
  HookServer& operator=(const HookServer&) = delete;

  int epoll_fd() const;
  long timeout_ms(long cap) const;  // how long the loop may wait before run()
  void run();
  // True (once) when a connection was resumed since the last call: its answer is still to be sent.
  bool take_resumed() {
    bool r = resumed_;
    resumed_ = false;
    return r;
  }
  void resume(Request& req, HookReply reply);
  // MHD's own error messages, collected by its logger callback for the loop to log.
  std::vector<std::string> take_log();
  const std::string& listen() const { return listen_; }

  // Called by MHD (public so the C callbacks can reach them).
  int on_access(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                size_t* upload_data_size, void** con_cls);
  void on_log(const char* msg) { log_.emplace_back(msg); }

 private:
  MHD_Daemon* daemon_ = nullptr;
  Dispatcher& dispatcher_;
  std::string listen_;
  std::vector<std::string> log_;
  bool resumed_ = false;
};

}  // namespace storcon::worker
