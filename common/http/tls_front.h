// TlsFront: kcanary's TLS listener. It accepts TLS connections on the public
// address and relays each, decrypted, to the plain HTTP server that listens on
// 127.0.0.1:<inner_port>, which therefore keeps doing all of HTTP (paths,
// basic auth, timeouts).
//
// Why not CivetWeb's own TLS: Debian 12's CivetWeb 1.15 resolves OpenSSL 1.1
// functions by name from libssl.so, some of which OpenSSL 3 no longer exports
// (e.g. SSL_get_peer_certificate), and its worker calls a null pointer on the
// first TLS connection. This front end links OpenSSL 3 normally.
//
//   TlsFront front;
//   Status s = front.Start("0.0.0.0:9642", tls_context, inner.port(), TlsLimits{});
//   ...
//   front.Stop();  // or let the destructor stop it
//
// Bounded by design: one thread per connection, at most
// TlsLimits::max_connections of them (further connections are accepted and
// closed at once), each limited in time by RelayTimeouts. The inner port is
// reachable by local processes in plain HTTP; it serves nothing the public
// port does not, and basic auth applies to both.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/http/tls_context.h"
#include "common/http/tls_relay.h"
#include "common/log_throttle.h"
#include "common/status.h"

namespace kcanary {

struct TlsLimits {
  /// Connections served at once (handshakes included). A scrape needs one.
  int max_connections = 64;
  RelayTimeouts timeouts;
};

class TlsFront {
 public:
  TlsFront() = default;
  ~TlsFront();  ///< Stops the front end if it is running.
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  /// Listens on `listen` ("host:port", IPv4 address or host name; port 0
  /// picks a free port) and relays to 127.0.0.1:`inner_port`. IoError naming
  /// the address when it cannot be bound; FailedPrecondition when running.
  Status Start(const std::string& listen, std::shared_ptr<const TlsServerContext> context,
               int inner_port, TlsLimits limits);

  /// The bound port while running, else 0.
  int port() const { return port_.load(std::memory_order_acquire); }

  /// Closes the listener and every open connection, and joins every thread
  /// it started. Idempotent; returns within a poll round (milliseconds).
  void Stop();

  /// Since Start: failed or timed-out handshakes, and connections closed
  /// because max_connections were open.
  uint64_t handshake_failures() const { return handshake_failures_.load(); }
  uint64_t rejected_connections() const { return rejected_.load(); }
  /// Connections being served now.
  int active_connections() const { return active_.load(); }

 private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void Accepted(int fd, const std::string& peer);
  void Serve(int fd, const std::string& peer, Connection* self);
  void JoinFinished();  // acceptor thread only
  void NoteFailure(const std::string& peer, const RelayOutcome& outcome);
  void NoteRejected();

  std::shared_ptr<const TlsServerContext> context_;
  TlsLimits limits_;
  int inner_port_ = 0;
  int listen_fd_ = -1;
  // Stop() writes to it and nobody reads it, so it stays readable: one write
  // wakes every poll() of every thread, now and later.
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::list<std::unique_ptr<Connection>> connections_;  // the acceptor's, then Stop()'s
  std::atomic<int> port_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> handshake_failures_{0};
  std::atomic<uint64_t> rejected_{0};

  // Rate-limited logging: one line per kind per minute at most, with how
  // many were not logged since. Guarded by log_mu_ (several threads log).
  std::mutex log_mu_;
  LogThrottle failure_log_{std::chrono::minutes(1)};
  LogThrottle reject_log_{std::chrono::minutes(1)};
};

}  // namespace kcanary
