// Several HTTP requests in flight at once without blocking: libcurl's multi interface, advanced by
// poll() from the hook worker's loop (non-blocking; no thread of ours). Used where the worker must
// talk to storcon or to other computes while it keeps serving the hook: the periodic reconcile and
// the forwarding of notifications to replicas.
#pragma once
#include "control/guard.hpp"

#include <map>
#include <string>
#include <vector>

namespace storcon {

struct FetchRequest {
  std::string key;     // the caller's name for it
  std::string method;  // GET, PUT, ...
  std::string url;
  std::string body;    // sent as application/json when not empty
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_ms = 2000;
  long timeout_ms = 10000;
  std::string ca_file;  // CA bundle for https:// (empty: the system's)
};

struct FetchResult {
  long status = 0;     // 0 when there was no HTTP answer
  std::string body;
  std::string error;   // transport error, empty on an HTTP answer
};

class AsyncFetcher {
 public:
  AsyncFetcher();
  ~AsyncFetcher();
  AsyncFetcher(const AsyncFetcher&) = delete;
  AsyncFetcher& operator=(const AsyncFetcher&) = delete;

  // Starts a batch (the previous one must be finished or abandoned).
  void start(const std::vector<FetchRequest>& requests);
  // Advances the transfers without blocking; true once every request of the batch has finished.
  bool poll();
  bool busy() const { return !transfers_.empty(); }
  // Drops unfinished transfers.
  void abandon();
  // The results of the finished batch, by key.
  const std::map<std::string, FetchResult>& results() const { return results_; }

 private:
  struct Transfer;
  void* multi_;  // CURLM*
  std::vector<Transfer*> transfers_;
  std::map<std::string, FetchResult> results_;
};

}  // namespace storcon
