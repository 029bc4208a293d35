#include "bgworker/http_server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace storcon::worker {

namespace {

MHD_Result queue_reply(MHD_Connection* c, const HookReply& reply) {
  const bool text = !reply.text.empty();
  // A setting value in effect may not be UTF-8: replace bad bytes rather than throw in MHD's callback.
  const std::string body = text ? reply.text : reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          text ? "text/plain; version=0.0.4; charset=utf-8" : "application/json");
  MHD_Result ok = MHD_queue_response(c, static_cast<unsigned int>(reply.status), r);
  MHD_destroy_response(r);
  return ok;
}

MHD_Result access_cb(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                     const char* upload_data, size_t* upload_data_size, void** con_cls) {
  return static_cast<HookServer*>(cls)->on_access(c, url, method, upload_data, upload_data_size, con_cls)
             ? MHD_YES
             : MHD_NO;
}

// True when the peer's address is loopback or the address it connected to (same machine).
bool peer_is_local(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) return false;
  sockaddr_storage peer{}, self{};
  socklen_t pl = sizeof peer, sl = sizeof self;
  if (getpeername(info->connect_fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0 ||
      getsockname(info->connect_fd, reinterpret_cast<sockaddr*>(&self), &sl) != 0)
    return false;
  if (peer.ss_family == AF_INET) {
    auto p = reinterpret_cast<sockaddr_in*>(&peer)->sin_addr.s_addr;
    auto s = reinterpret_cast<sockaddr_in*>(&self)->sin_addr.s_addr;
    return (ntohl(p) >> 24) == 127 || p == s;
  }
  if (peer.ss_family == AF_INET6) {
    auto& p = reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr;
    auto& s = reinterpret_cast<sockaddr_in6*>(&self)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&p) || std::memcmp(&p, &s, sizeof p) == 0;
  }
  return false;
}

void completed_cb(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<Request*>(*con_cls);
  *con_cls = nullptr;
}

__attribute__((format(printf, 2, 0))) void log_cb(void* cls, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = std::strlen(buf);
  while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  static_cast<HookServer*>(cls)->on_log(buf);
}

}  // namespace

HookServer::HookServer(const std::string& listen_addr, int port, Dispatcher& dispatcher, const std::string& tls_cert,
                       const std::string& tls_key)
    : dispatcher_(dispatcher) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* addr;
  unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (inet_pton(AF_INET, listen_addr.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    addr = reinterpret_cast<const sockaddr*>(&v4);
    listen_ = listen_addr + ":" + std::to_string(port);
  } else if (inet_pton(AF_INET6, listen_addr.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    addr = reinterpret_cast<const sockaddr*>(&v6);
    flags |= MHD_USE_IPv6;
    listen_ = "[" + listen_addr + "]:" + std::to_string(port);
  } else {
    throw std::runtime_error("storcon.hook_listen_addr \"" + listen_addr + "\" is not an IPv4 or IPv6 address");
  }
  std::vector<MHD_OptionItem> options = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&log_cb), this},  // must be the first option
      {MHD_OPTION_SOCK_ADDR, 0, const_cast<sockaddr*>(addr)},
      {MHD_OPTION_CONNECTION_TIMEOUT, 30, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, 256, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&completed_cb), this},
  };
  if (!tls_cert.empty()) {
    flags |= MHD_USE_TLS;  // GnuTLS, inside libmicrohttpd
    options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(tls_cert.c_str())});
    options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(tls_key.c_str())});
  }
  options.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr, &access_cb, this,
                             MHD_OPTION_ARRAY, options.data(), MHD_OPTION_END);
  if (daemon_ == nullptr) {
    std::string why = log_.empty() ? std::string(std::strerror(errno)) : log_.back();
    throw std::runtime_error("could not listen on " + listen_ + ": " + why);
  }
}

HookServer::~HookServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

int HookServer::epoll_fd() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  return info ? info->epoll_fd : -1;
}

long HookServer::timeout_ms(long cap) const {
  MHD_UNSIGNED_LONG_LONG t = 0;
  if (MHD_get_timeout(daemon_, &t) == MHD_YES && static_cast<long long>(t) < cap) return static_cast<long>(t);
  return cap;
}

void HookServer::run() { MHD_run(daemon_); }

void HookServer::resume(Request& req, HookReply reply) {
  req.reply = std::move(reply);
  req.reply_ready = true;
  MHD_Connection* c = req.connection;
  req.connection = nullptr;
  MHD_resume_connection(c);
  resumed_ = true;
}

std::vector<std::string> HookServer::take_log() {
  std::vector<std::string> out;
  out.swap(log_);
  return out;
}

int HookServer::on_access(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                          size_t* upload_data_size, void** con_cls) {
  try {
    auto* req = static_cast<Request*>(*con_cls);
    if (req == nullptr) {
      req = new Request;
      req->method = method;
      req->path = url;
      req->endpoint = match_endpoint(req->path);
      *con_cls = req;
      if (const char* auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))
        req->authorization = auth;
      req->from_this_host = peer_is_local(c);
      req->forwarded = MHD_lookup_connection_value(c, MHD_HEADER_KIND, kForwardedHeader) != nullptr;
      const char* length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (length != nullptr && std::strtoull(length, nullptr, 10) > kMaxBodyBytes)
        return queue_reply(c, error_reply(413, "request body exceeds 64 KiB"));
      return MHD_YES;
    }
    if (*upload_data_size != 0) {  // a chunk of the body; chunked bodies are counted here
      if (req->body.size() + *upload_data_size > kMaxBodyBytes)
        req->too_large = true;
      else if (!req->too_large)
        req->body.append(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (req->reply_ready) return queue_reply(c, req->reply);  // resumed after being applied
    if (req->too_large) return queue_reply(c, error_reply(413, "request body exceeds 64 KiB"));
    HookReply reply;
    if (dispatcher_.dispatch(*req, &reply)) return queue_reply(c, reply);
    req->connection = c;
    MHD_suspend_connection(c);
    return MHD_YES;
  } catch (...) {
    return MHD_NO;  // no exception may cross libmicrohttpd's C frames
  }
}

}  // namespace storcon::worker
