// HttpServer: kcanary's one HTTP listener (/metrics, /healthz, /readyz, /status, /).
//
// A thin wrapper over CivetWeb that serves a fixed set of exact paths, each
// answered by an in-memory handler. It never serves files. It is sized for a
// sidecar that Prometheus scrapes every few seconds, not for a public server:
// few worker threads, no keep-alive and a request timeout, so a flood of slow
// or idle clients delays scrapes but cannot exhaust the process. With
// HttpSecurity::tls it speaks TLS through kcanary's own front end (tls_front.h).
//
//   HttpServer server;
//   server.Handle("/healthz", [] { return HttpResponse{.body = "ok\n"}; });
//   if (Status s = server.Start("0.0.0.0:9642"); !s.ok()) return s;
//   ...
//   server.Stop();  // or let the destructor stop it
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/http/basic_auth.h"
#include "common/http/tls_front.h"
#include "common/status.h"

struct mg_context;
struct mg_connection;

namespace kcanary {

/// What a handler answers. `body` is sent as is; for HEAD requests only the
/// headers (including the Content-Length of `body`) are sent.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// How the listener protects itself (--listen-auth, --listen-tls-cert/-key).
struct HttpSecurity {
  /// Non-empty: every path but `open_paths` asks for HTTP basic auth as one
  /// of these users (401 with `WWW-Authenticate: Basic` otherwise).
  BasicAuthUsers users;
  /// Paths served without credentials (health probes, which show nothing).
  std::set<std::string, std::less<>> open_paths;
  /// Set: the listen address speaks TLS only, through TlsFront (tls_front.h);
  /// CivetWeb then listens on an ephemeral 127.0.0.1 port behind it and still
  /// does all of HTTP, basic auth included.
  std::shared_ptr<const TlsServerContext> tls;
  /// Bounds of the TLS listener (tests shorten the timeouts).
  TlsLimits tls_limits;
};

/// Serves GET and HEAD on exact paths registered with Handle().
///
/// Answers: a registered path → its handler's response; any other path → 404;
/// a method other than GET or HEAD → 405 with `Allow: GET, HEAD`; missing or
/// wrong credentials when HttpSecurity::users is set → 401 (before the path
/// is looked up, so unknown paths answer 401 too); a handler that throws →
/// 500, and the server keeps serving.
///
/// Threading: handlers run on CivetWeb worker threads (up to kWorkerThreads at
/// once, possibly the same handler concurrently), so a handler must be
/// thread-safe with respect to whatever it reads. A handler must not call
/// Stop() (Stop waits for the workers). Start(), Stop() and the destructor must
/// not race each other; Handle() and port() may be called from any thread.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  /// Upper bound on requests served concurrently; further connections wait in
  /// the accept queue.
  static constexpr int kWorkerThreads = 4;
  /// How long a client may take to send its request or to read the answer.
  /// Below Prometheus' default 10 s scrape timeout, so a scrape stuck behind
  /// idle connections that hold every worker still gets through.
  static constexpr int kRequestTimeoutMs = 5'000;

  HttpServer();
  ~HttpServer();  ///< Stops the server if it is running.

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Registers `handler` for requests whose path (without query string) equals
  /// `path` exactly, e.g. "/metrics". Registering a path again replaces its
  /// handler. Meant to be called before Start(); a later call takes effect for
  /// the requests that follow it.
  void Handle(std::string path, Handler handler);

  /// Starts listening on `listen`, "host:port" with an IPv4 address or a host
  /// name (the Debian CivetWeb build has no IPv6), in plain HTTP or, with
  /// `security.tls`, in TLS only. Port 0 picks a free port; read it with
  /// port(). Returns InvalidArgument for a malformed address, IoError naming
  /// the address and the reason when it cannot be bound, and
  /// FailedPrecondition if the server is already running. May be called again
  /// after Stop().
  Status Start(const std::string& listen, HttpSecurity security = {});

  /// The bound TCP port while running (the real one when Start was given port
  /// 0); 0 when stopped. With TLS, the TLS port.
  int port() const { return port_.load(std::memory_order_acquire); }

  /// The TLS listener while running with TLS (its counters), else null.
  /// Valid until Stop().
  const TlsFront* tls_front() const { return front_.get(); }

  /// Stops accepting, waits for in-flight requests to finish and releases the
  /// port. Idempotent. Takes up to ~2 s: CivetWeb's accept loop notices the
  /// stop request only between 2 s polls.
  void Stop();

 private:
  static int OnBeginRequest(mg_connection* conn);
  static int OnLogMessage(const mg_connection* conn, const char* message);
  int Serve(mg_connection* conn);
  // Returns the handler for `path`, or null.
  std::shared_ptr<const Handler> Find(const std::string& path) const;

  mutable std::mutex handlers_mu_;
  std::map<std::string, std::shared_ptr<const Handler>, std::less<>> handlers_;

  HttpSecurity security_;  // set before the workers start, then only read
  mg_context* ctx_ = nullptr;
  std::unique_ptr<TlsFront> front_;  // with TLS only
  std::atomic<int> port_{0};
};

}  // namespace kcanary
