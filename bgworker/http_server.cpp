#include "bgworker/http_server.hpp"

#include "control/callback_guard.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace storcon::worker {

struct HookServer::Conn {
  uint64_t id = 0;
  MHD_Connection* connection = nullptr;
  IncomingRequest request;
  bool too_large = false;
  bool suspended = false;
  bool reply_ready = false;
  HookReply reply;
};

namespace {

constexpr size_t kMaxLogLines = 100;
// GnuTLS priorities: TLS 1.3 and 1.2 only (1.0 and 1.1 are broken).
constexpr const char* kTlsPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

MHD_Result queue_reply(MHD_Connection* c, const HookReply& reply) {
  const bool text = !reply.text.empty();
  // A setting value in effect may not be UTF-8: replaced, never thrown in MHD's callback.
  const std::string body = text ? reply.text : reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  MHD_Response* r =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          !reply.content_type.empty() ? reply.content_type.c_str() : "application/json");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : reply.headers) MHD_add_response_header(r, name.c_str(), value.c_str());
  MHD_Result ok = MHD_queue_response(c, static_cast<unsigned int>(reply.status), r);
  MHD_destroy_response(r);
  return ok;
}

MHD_Result access_cb(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                     const char* upload_data, size_t* upload_data_size, void** con_cls) {
  return guarded(MHD_NO, [&] {
    return static_cast<HookServer*>(cls)->on_access(c, url, method, upload_data, upload_data_size, con_cls) ? MHD_YES
                                                                                                         : MHD_NO;
  });
}

void completed_cb(void* cls, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  guarded(0, [&] {
    static_cast<HookServer*>(cls)->on_completed(con_cls);
    return 0;
  });
}

__attribute__((format(printf, 2, 0))) void log_cb(void* cls, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  guarded(0, [&] {
    static_cast<HookServer*>(cls)->on_log(buf);
    return 0;
  });
}

const char* header(MHD_Connection* c, const char* name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

}  // namespace

HookServer::HookServer(const std::string& listen_addr, int port, HeadCheck check, const std::string& tls_cert,
                       const std::string& tls_key)
    : check_(std::move(check)), listen_addr_(listen_addr), port_(port) {
  daemon_ = start_daemon(-1, tls_cert, tls_key);
}

MHD_Daemon* HookServer::start_daemon(int listen_fd, const std::string& tls_cert, const std::string& tls_key) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* addr;
  unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (inet_pton(AF_INET, listen_addr_.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port_));
    addr = reinterpret_cast<const sockaddr*>(&v4);
    listen_ = listen_addr_ + ":" + std::to_string(port_);
  } else if (inet_pton(AF_INET6, listen_addr_.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port_));
    addr = reinterpret_cast<const sockaddr*>(&v6);
    flags |= MHD_USE_IPv6;
    listen_ = "[" + listen_addr_ + "]:" + std::to_string(port_);
  } else {
    throw std::runtime_error("storcon.hook_listen_addr \"" + listen_addr_ + "\" is not an IPv4 or IPv6 address");
  }
  std::vector<MHD_OptionItem> options = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&log_cb), this},  // must be the first option
      {MHD_OPTION_CONNECTION_TIMEOUT, 30, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, 256, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&completed_cb), this},
  };
  if (listen_fd >= 0)
    options.push_back({MHD_OPTION_LISTEN_SOCKET, listen_fd, nullptr});
  else
    options.push_back({MHD_OPTION_SOCK_ADDR, 0, const_cast<sockaddr*>(addr)});
  std::string cert = tls_cert, key = tls_key;
  if (!cert.empty()) {
    flags |= MHD_USE_TLS;  // GnuTLS, inside libmicrohttpd
    options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cert.c_str())});
    options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(key.c_str())});
    options.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities)});
  }
  options.push_back({MHD_OPTION_END, 0, nullptr});
  size_t log_before = log_.size();
  MHD_Daemon* d = MHD_start_daemon(flags, static_cast<uint16_t>(port_), nullptr, nullptr, &access_cb, this,
                                   MHD_OPTION_ARRAY, options.data(), MHD_OPTION_END);
  if (d == nullptr) {
    std::string why = log_.size() > log_before ? log_.back() : std::string(std::strerror(errno));
    throw std::runtime_error("could not listen on " + listen_ + ": " + why);
  }
  tls_ = !cert.empty();
  cert_ = std::move(cert);
  key_ = std::move(key);
  return d;
}

HookServer::~HookServer() {
  // Suspended connections must be resumed before a daemon stops; the process is ending anyway.
  for (auto& [id, c] : conns_)
    if (c->suspended) {
      c->suspended = false;
      MHD_resume_connection(c->connection);
    }
  for (MHD_Daemon* d : draining_) MHD_stop_daemon(d);
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

std::vector<int> HookServer::wait_fds() const {
  std::vector<int> fds;
  auto add = [&](MHD_Daemon* d) {
    const MHD_DaemonInfo* info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    if (info != nullptr) fds.push_back(info->epoll_fd);
  };
  add(daemon_);
  for (MHD_Daemon* d : draining_) add(d);
  return fds;
}

long HookServer::timeout_ms(long cap) const {
  MHD_UNSIGNED_LONG_LONG t = 0;
  long out = cap;
  if (MHD_get_timeout(daemon_, &t) == MHD_YES && static_cast<long long>(t) < out) out = static_cast<long>(t);
  for (MHD_Daemon* d : draining_)
    if (MHD_get_timeout(d, &t) == MHD_YES && static_cast<long long>(t) < out) out = static_cast<long>(t);
  return out;
}

void HookServer::run() {
  resumed_ = false;
  MHD_run(daemon_);
  for (auto it = draining_.begin(); it != draining_.end();) {
    MHD_run(*it);
    const MHD_DaemonInfo* info = MHD_get_daemon_info(*it, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    if (info != nullptr && info->num_connections == 0) {
      MHD_stop_daemon(*it);
      it = draining_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<IncomingRequest> HookServer::take_arrived() {
  std::vector<IncomingRequest> out;
  for (uint64_t id : arrived_) {
    auto it = conns_.find(id);
    if (it != conns_.end()) out.push_back(it->second->request);
  }
  arrived_.clear();
  return out;
}

bool HookServer::answer(uint64_t id, const HookReply& reply) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  Conn* c = it->second;
  c->reply = reply;
  c->reply_ready = true;
  if (c->suspended) {
    c->suspended = false;
    MHD_resume_connection(c->connection);
    resumed_ = true;
  }
  return true;
}

void HookServer::reload_tls(const std::string& tls_cert, const std::string& tls_key) {
  if (!tls_ || tls_cert.empty()) throw std::runtime_error("HTTPS is configured at server start only");
  // A new daemon on the same listening socket; the old one keeps its connections until they end.
  MHD_socket fd = MHD_quiesce_daemon(daemon_);
  if (fd == MHD_INVALID_SOCKET) throw std::runtime_error("could not hand over the listening socket");
  try {
    MHD_Daemon* fresh = start_daemon(fd, tls_cert, tls_key);
    draining_.push_back(daemon_);
    daemon_ = fresh;
  } catch (...) {
    // The old daemon no longer accepts; keep serving on it by restarting it on the same socket.
    MHD_Daemon* again = nullptr;
    try {
      again = start_daemon(fd, cert_, key_);
    } catch (...) {
    }
    if (again != nullptr) {
      draining_.push_back(daemon_);
      daemon_ = again;
    }
    throw;
  }
}

std::vector<std::string> HookServer::take_log() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

void HookServer::on_log(const char* msg) {
  if (log_.size() >= kMaxLogLines) return;
  std::string_view text(msg);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  log_.push_back("libmicrohttpd: " + loggable(text));
}

void HookServer::on_completed(void** con_cls) {
  auto* c = static_cast<Conn*>(*con_cls);
  if (c == nullptr) return;
  conns_.erase(c->id);
  delete c;
  *con_cls = nullptr;
}

int HookServer::on_access(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                          size_t* upload_data_size, void** con_cls) {
  auto* c = static_cast<Conn*>(*con_cls);
  if (c == nullptr) {  // headers only: decide now whether to read the body at all
    RequestHead head;
    head.method = method;
    head.path = url;
    head.authorization = header(connection, MHD_HTTP_HEADER_AUTHORIZATION);
    if (const char* length = header(connection, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
      char* end = nullptr;
      errno = 0;
      unsigned long long n = std::strtoull(length, &end, 10);
      head.content_length = (errno == 0 && end != length) ? n : UINT64_MAX;
    }
    HeadDecision d = check_(head);
    if (!d.log.empty() && log_.size() < kMaxLogLines) log_.push_back(d.log);
    if (d.refuse) return queue_reply(connection, *d.refuse);  // MHD discards any body
    auto fresh = std::make_unique<Conn>();
    fresh->id = next_id_++;
    fresh->connection = connection;
    fresh->request.id = fresh->id;
    fresh->request.endpoint = d.endpoint;
    fresh->request.method = method;
    fresh->request.path = url;
    if (head.authorization != nullptr) fresh->request.authorization = head.authorization;
    fresh->request.forwarded = header(connection, kForwardedHeader) != nullptr;
    if (const char* ms = header(connection, kDeadlineHeader)) fresh->request.deadline_ms = std::atoll(ms);
    conns_[fresh->id] = fresh.get();
    *con_cls = fresh.release();
    return MHD_YES;
  }
  if (*upload_data_size != 0) {  // a chunk of the body; chunked bodies are counted here
    if (c->request.body.size() + *upload_data_size > kMaxBodyBytes)
      c->too_large = true;
    else if (!c->too_large)
      c->request.body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (c->reply_ready) return queue_reply(connection, c->reply);  // resumed by answer()
  if (c->too_large) return queue_reply(connection, error_reply(413, "request body exceeds 64 KiB"));
  arrived_.push_back(c->id);
  c->suspended = true;
  MHD_suspend_connection(connection);
  return MHD_YES;
}

}  // namespace storcon::worker
