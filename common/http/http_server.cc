#include "common/http/http_server.h"

#include <civetweb.h>

#include <cstddef>
#include <ctime>
#include <exception>
#include <string_view>
#include <utility>

namespace kcanary {
namespace {

constexpr const char* kAllowedMethods = "GET, HEAD";

// CivetWeb reports why it could not start (e.g. "cannot bind to 1.2.3.4:80: 98
// (Address already in use)") only through the log callback; mg_start2's error
// text is a generic "Failed to setup server ports". mg_start2 runs the port
// setup on the calling thread, so a thread-local sink set around the call
// collects the reason without sharing state between servers.
thread_local std::string* t_start_log = nullptr;

std::once_flag g_library_once;

// Validates "host:port" before CivetWeb sees it: CivetWeb's listening_ports
// syntax is richer (comma lists, "s"/"r" suffixes for TLS and redirects) and we
// want exactly one plain HTTP listener, with an error that says what is wrong.
Status ValidateListen(std::string_view listen) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid listen address '" + std::string(listen) + "': " +
                                   std::string(why) + " (expected host:port, e.g. 0.0.0.0:9642)");
  };
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  const std::string_view host = listen.substr(0, colon);
  const std::string_view port = listen.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.find_first_of(", \t\r\n") != std::string_view::npos) return bad("bad host");
  if (host.front() == '[' && mg_check_feature(MG_FEATURES_IPV6) == 0) {
    return bad("this CivetWeb build has no IPv6 support");
  }
  if (port.empty() || port.size() > 5) return bad("bad port");
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("bad port");
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return bad("port out of range");
  return Status::Ok();
}

// RFC 9110 IMF-fixdate for the Date header. CivetWeb adds one itself if we
// don't, but formats it with gmtime(), whose static buffer races between its
// worker threads (ThreadSanitizer reports it); gmtime_r has no shared state.
std::string HttpDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The extra header of a 405 (which methods are allowed) or a 401 (how to log in).
struct ExtraHeader {
  const char* name = nullptr;
  const char* value = nullptr;
};

void Send(mg_connection* conn, const HttpResponse& response, bool head, ExtraHeader extra = {}) {
  mg_response_header_start(conn, response.status);
  if (!response.content_type.empty()) {
    mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
  }
  mg_response_header_add(conn, "Content-Length", std::to_string(response.body.size()).c_str(), -1);
  // Every answer is computed live; a cached /metrics or /readyz would lie.
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  mg_response_header_add(conn, "Date", HttpDate().c_str(), -1);
  if (extra.name != nullptr) mg_response_header_add(conn, extra.name, extra.value, -1);
  mg_response_header_send(conn);
  // A failed write means the client went away; there is nobody to tell.
  if (!head && !response.body.empty()) {
    mg_write(conn, response.body.data(), response.body.size());
  }
}

HttpResponse PlainResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, Handler handler) {
  try {
    auto shared = std::make_shared<const Handler>(std::move(handler));
    std::lock_guard<std::mutex> lock(handlers_mu_);
    handlers_[std::move(path)] = std::move(shared);
  } catch (...) {
    // Only allocation can fail here. Handle() runs at start-up, where the
    // missing endpoint then answers 404 instead of taking the process down.
  }
}

std::shared_ptr<const HttpServer::Handler> HttpServer::Find(const std::string& path) const {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  auto it = handlers_.find(path);
  return it == handlers_.end() ? nullptr : it->second;
}

Status HttpServer::Start(const std::string& listen, HttpSecurity security) {
  try {
    if (ctx_ != nullptr) {
      return Status::FailedPrecondition("HTTP server already listening on port " +
                                        std::to_string(port()) + "; Stop() it first");
    }
    if (Status s = ValidateListen(listen); !s.ok()) return s;

    // Not thread-safe in CivetWeb, hence once per process; never undone,
    // because another HttpServer may still be running.
    std::call_once(g_library_once, [] { mg_init_library(0); });

    const std::string threads = std::to_string(kWorkerThreads);
    const std::string timeout = std::to_string(kRequestTimeoutMs);
    // With TLS, CivetWeb only ever hears from the front end, on loopback.
    const bool tls = security.tls != nullptr;
    const std::string civet_listen = tls ? "127.0.0.1:0" : listen;
    const char* options[] = {
        "listening_ports", civet_listen.c_str(),
        // Bounded concurrency: a scrape flood queues instead of spawning threads.
        "num_threads", threads.c_str(),
        // Slow or stalled clients give their worker back after this long.
        "request_timeout_ms", timeout.c_str(),
        // CivetWeb holds a worker per open connection; idle keep-alive
        // connections would pin the few workers we have.
        "enable_keep_alive", "no",
        // document_root stays unset, so nothing on disk is reachable; this is
        // a second lock on the same door.
        "enable_directory_listing", "no", nullptr};
    security_ = std::move(security);

    mg_callbacks callbacks{};
    callbacks.begin_request = &HttpServer::OnBeginRequest;
    callbacks.log_message = &HttpServer::OnLogMessage;
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.user_data = this;
    init.configuration_options = options;

    char error_text[256] = "";
    unsigned error_code = 0;
    mg_error_data error{};
    error.code = &error_code;
    error.text = error_text;
    error.text_buffer_size = sizeof(error_text);

    std::unique_ptr<TlsFront> front = tls ? std::make_unique<TlsFront>() : nullptr;
    std::string start_log;
    t_start_log = &start_log;
    mg_context* ctx = mg_start2(&init, &error);
    t_start_log = nullptr;

    if (ctx == nullptr) {
      std::string reason = start_log.empty() ? std::string(error_text) : start_log;
      if (reason.empty()) reason = "unknown CivetWeb error";
      return Status::IoError("cannot listen for HTTP on " + listen + ": " + reason);
    }

    mg_server_port ports[1]{};
    if (mg_get_server_ports(ctx, 1, ports) < 1 || ports[0].port <= 0) {
      mg_stop(ctx);
      return Status::Internal("HTTP server on " + listen + " started but reports no bound port");
    }
    if (front != nullptr) {
      if (Status s = front->Start(listen, security_.tls, ports[0].port, security_.tls_limits);
          !s.ok()) {
        mg_stop(ctx);
        return s;
      }
    }
    ctx_ = ctx;
    front_ = std::move(front);
    port_.store(front_ != nullptr ? front_->port() : ports[0].port, std::memory_order_release);
    return Status::Ok();
  } catch (const std::exception& e) {
    t_start_log = nullptr;
    return Status::Internal("cannot start HTTP server on " + listen + ": " + e.what());
  } catch (...) {
    t_start_log = nullptr;
    return Status::Internal("cannot start HTTP server on " + listen + ": unknown exception");
  }
}

void HttpServer::Stop() {
  if (ctx_ == nullptr) return;
  port_.store(0, std::memory_order_release);
  // Front first: its relays end, and then CivetWeb has nothing left to wait for.
  if (front_) front_->Stop();
  mg_stop(ctx_);  // Joins the workers: no handler runs after this returns.
  ctx_ = nullptr;
  // Only now: a handler may read tls_front()'s counters (the /metrics sync).
  front_.reset();
}

int HttpServer::OnLogMessage(const mg_connection* /*conn*/, const char* message) {
  try {
    if (t_start_log != nullptr && message != nullptr) {
      // CivetWeb logs the specific cause first and the generic summary last.
      if (!t_start_log->empty()) return 1;
      *t_start_log = message;
    }
  } catch (...) {
  }
  // Runtime messages (client timeouts, resets) are noise for a sidecar and
  // there is no error_log_file: drop them.
  return 1;
}

int HttpServer::OnBeginRequest(mg_connection* conn) {
  try {
    auto* self = static_cast<HttpServer*>(mg_get_user_data(mg_get_context(conn)));
    return self->Serve(conn);
  } catch (...) {
    // Nothing may unwind into C. Returning a status tells CivetWeb the
    // request was handled; it then closes the connection.
    return 500;
  }
}

int HttpServer::Serve(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method =
      info != nullptr && info->request_method != nullptr ? info->request_method : "";
  const std::string path = info != nullptr && info->local_uri != nullptr ? info->local_uri : "";
  const bool head = method == "HEAD";

  if (method != "GET" && !head) {
    Send(conn, PlainResponse(405, "method not allowed; use GET or HEAD\n"), false,
         {"Allow", kAllowedMethods});
    return 405;
  }
  if (!security_.users.empty() && !security_.open_paths.contains(path)) {
    const char* authorization = mg_get_header(conn, "Authorization");
    if (!IsAuthorized(security_.users, authorization != nullptr ? authorization : "")) {
      Send(conn, PlainResponse(401, "authentication required\n"), head,
           {"WWW-Authenticate", "Basic realm=\"kcanary\", charset=\"UTF-8\""});
      return 401;
    }
  }
  const std::shared_ptr<const Handler> handler = Find(path);
  if (handler == nullptr) {
    Send(conn, PlainResponse(404, "not found\n"), head);
    return 404;
  }

  HttpResponse response;
  try {
    response = (*handler)();
  } catch (...) {
    // The detail stays out of the body: it may name internal paths.
    response = PlainResponse(500, "internal error while serving " + path + "\n");
  }
  if (response.status < 100 || response.status > 599 || HasLineBreak(response.content_type)) {
    response = PlainResponse(500, "invalid response from handler for " + path + "\n");
  }
  Send(conn, response, head);
  return response.status;
}

}  // namespace kcanary
