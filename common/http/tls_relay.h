// One client connection of the TLS front end (tls_front.h), from the TLS
// handshake to the close: it decrypts what the client sends and passes it to
// the plain HTTP server on 127.0.0.1:<inner_port>, and encrypts the answer.
//
// Internal to kcanary_http.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

struct ssl_ctx_st;

namespace kcanary {

struct RelayTimeouts {
  // From accept to a finished handshake. A client that connects and sends
  // nothing (or dribbles) loses its slot after this.
  std::chrono::milliseconds handshake{10'000};
  // No byte in either direction for this long ends the connection. The inner
  // server already gives up on a stalled request after 5 s; this is the
  // second lock on the same door, for a client that stops reading.
  std::chrono::milliseconds idle{15'000};
  // A connection ends this long after its handshake however it trickles: the
  // inner server has few workers, and a client that dribbles a byte every few
  // seconds must not hold one for ever. A scrape takes well under this.
  std::chrono::milliseconds lifetime{60'000};
};

enum class RelayEnd {
  kDone,              // the inner server answered and closed, or the client left
  kHandshakeFailed,   // not TLS, no common protocol or suite, client gave up, ...
  kHandshakeTimeout,  // no finished handshake within RelayTimeouts::handshake
  kInnerUnavailable,  // the plain server did not take the connection
  kIdleTimeout,
  kTooLong,  // open for RelayTimeouts::lifetime
  kStopped,  // the front end is stopping
  kError,    // a socket or TLS error after the handshake
};

struct RelayOutcome {
  RelayEnd end = RelayEnd::kDone;
  std::string reason;  // for failures: OpenSSL's or the OS's words
};

/// Serves `client_fd` (non-blocking; the caller closes it) until one side is
/// done. Returns early, within one poll, when `stopping` is set and `stop_fd`
/// becomes readable. Never throws.
RelayOutcome RelayTlsConnection(ssl_ctx_st* ctx, int client_fd, int inner_port, int stop_fd,
                                const std::atomic<bool>& stopping, RelayTimeouts timeouts);

}  // namespace kcanary
