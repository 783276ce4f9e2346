#include "common/http/tls_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/http/openssl_owned.h"

namespace kcanary {
namespace {

using Clock = std::chrono::steady_clock;

// One TLS record's worth of plaintext per direction.
constexpr std::size_t kBufferBytes = 16 * 1024;
// After our answer, how long to swallow what the client still sends before
// closing. Closing a socket with unread input sends a reset, which can make
// the client drop the tail of an answer it has not read yet.
constexpr std::chrono::milliseconds kLingerTime{1'000};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int MillisUntil(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

enum class Wait { kReady, kTimeout, kStop, kError };

// Waits until `fd` has one of `events` (or an error or hang-up), the stop pipe
// turns readable, or `deadline` passes.
Wait WaitFor(int fd, short events, int stop_fd, Clock::time_point deadline) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int timeout = MillisUntil(deadline);
    const int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Wait::kError;
    if (fds[1].revents != 0) return Wait::kStop;
    if (n == 0) return timeout == 0 || Clock::now() >= deadline ? Wait::kTimeout : Wait::kReady;
    return Wait::kReady;
  }
}

// Why an SSL call failed, in OpenSSL's or the OS's words; clears the queue.
std::string SslReason(int ssl_error, int saved_errno) {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last != 0) {
    const char* reason = ERR_reason_error_string(last);
    return reason != nullptr ? reason : "TLS error";
  }
  if (ssl_error == SSL_ERROR_SYSCALL) {
    return saved_errno != 0 ? std::strerror(saved_errno) : "the client closed the connection";
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return "the client closed the connection";
  return "TLS error " + std::to_string(ssl_error);
}

RelayOutcome Handshake(SSL* ssl, int client_fd, int stop_fd, const std::atomic<bool>& stopping,
                       std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (stopping.load(std::memory_order_relaxed)) return {RelayEnd::kStopped, ""};
    ERR_clear_error();
    errno = 0;
    const int r = SSL_accept(ssl);
    if (r == 1) return {RelayEnd::kDone, ""};
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl, r);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ) events = POLLIN;
    if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    if (events == 0) return {RelayEnd::kHandshakeFailed, SslReason(error, saved_errno)};
    switch (WaitFor(client_fd, events, stop_fd, deadline)) {
      case Wait::kReady:
        break;
      case Wait::kTimeout:
        return {RelayEnd::kHandshakeTimeout,
                "no handshake within " + std::to_string(timeout.count()) + " ms"};
      case Wait::kStop:
        return {RelayEnd::kStopped, ""};
      case Wait::kError:
        return {RelayEnd::kHandshakeFailed, std::strerror(errno)};
    }
  }
}

// A loopback connection to the plain server, non-blocking once connected.
// Loopback connects complete at once (or are refused), so a blocking connect
// cannot hang here.
int ConnectInner(int port, std::string& reason) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    reason = std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    reason = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

void NoDelay(int fd) {
  // Answers leave in a few writes; Nagle would hold their tails back for an ACK.
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

// Plaintext waiting to be written on, kept still until written (OpenSSL's
// retry rule for SSL_write after WANT_READ/WANT_WRITE).
struct Pending {
  std::vector<char> bytes = std::vector<char>(kBufferBytes);
  std::size_t begin = 0;
  std::size_t end = 0;
  bool empty() const { return begin == end; }
  const char* data() const { return bytes.data() + begin; }
  std::size_t size() const { return end - begin; }
  void Consume(std::size_t n) {
    begin += n;
    if (begin == end) begin = end = 0;
  }
};

// Moves bytes both ways until either side is done. Each round first tries
// every transfer that buffer space allows, and sleeps in poll() only when
// none made progress, on exactly what the stalled transfers wait for. So a
// descriptor is polled only when the next round will act on it (no busy
// loop on a hang-up), and decrypted bytes OpenSSL already holds are never
// left waiting for a poll that would not report them.
RelayOutcome Pump(SSL* ssl, int client_fd, int inner_fd, int stop_fd,
                  const std::atomic<bool>& stopping, std::chrono::milliseconds idle,
                  std::chrono::milliseconds lifetime) {
  Pending up;    // client -> inner
  Pending down;  // inner -> client
  bool client_eof = false;
  bool inner_write_shut = false;
  bool inner_eof = false;
  Clock::time_point idle_deadline = Clock::now() + idle;
  const Clock::time_point end_of_life = Clock::now() + lifetime;
  for (;;) {
    if (stopping.load(std::memory_order_relaxed)) return {RelayEnd::kStopped, ""};
    if (Clock::now() >= end_of_life) return {RelayEnd::kTooLong, ""};
    bool progress = false;
    short client_events = 0;
    short inner_events = 0;

    if (!client_eof && up.empty()) {
      ERR_clear_error();
      errno = 0;
      const int n = SSL_read(ssl, up.bytes.data(), static_cast<int>(up.bytes.size()));
      const int saved_errno = errno;
      if (n > 0) {
        up.end = static_cast<std::size_t>(n);
        progress = true;
      } else {
        const int error = SSL_get_error(ssl, n);
        if (error == SSL_ERROR_WANT_READ) {
          client_events |= POLLIN;
        } else if (error == SSL_ERROR_WANT_WRITE) {
          client_events |= POLLOUT;
        } else if (error == SSL_ERROR_ZERO_RETURN) {
          client_eof = true;
          progress = true;
        } else {
          return {RelayEnd::kError, SslReason(error, saved_errno)};
        }
      }
    }
    if (!up.empty()) {
      const ssize_t n = ::send(inner_fd, up.data(), up.size(), MSG_NOSIGNAL);
      if (n > 0) {
        up.Consume(static_cast<std::size_t>(n));
        progress = true;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        inner_events |= POLLOUT;
      } else {
        return {RelayEnd::kError, std::strerror(errno)};
      }
    }
    if (client_eof && up.empty() && !inner_write_shut) {
      // Pass the client's end on: the inner server may still answer.
      ::shutdown(inner_fd, SHUT_WR);
      inner_write_shut = true;
    }

    if (!inner_eof && down.empty()) {
      const ssize_t n = ::recv(inner_fd, down.bytes.data(), down.bytes.size(), 0);
      if (n > 0) {
        down.end = static_cast<std::size_t>(n);
        progress = true;
      } else if (n == 0) {
        inner_eof = true;
        progress = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        inner_events |= POLLIN;
      } else {
        return {RelayEnd::kError, std::strerror(errno)};
      }
    }
    if (!down.empty()) {
      ERR_clear_error();
      errno = 0;
      const int n = SSL_write(ssl, down.data(), static_cast<int>(down.size()));
      const int saved_errno = errno;
      if (n > 0) {
        down.Consume(static_cast<std::size_t>(n));
        progress = true;
      } else {
        const int error = SSL_get_error(ssl, n);
        if (error == SSL_ERROR_WANT_WRITE) {
          client_events |= POLLOUT;
        } else if (error == SSL_ERROR_WANT_READ) {
          client_events |= POLLIN;
        } else {
          return {RelayEnd::kError, SslReason(error, saved_errno)};
        }
      }
    }
    // The inner server closes after each answer (no keep-alive): once that
    // answer is out, the connection is done.
    if (inner_eof && down.empty()) return {RelayEnd::kDone, ""};

    if (progress) {
      idle_deadline = Clock::now() + idle;
      continue;
    }
    if (client_events == 0 && inner_events == 0) {
      return {RelayEnd::kError, "relay stalled"};  // unreachable by the reasoning above
    }
    pollfd fds[3] = {{client_events != 0 ? client_fd : -1, client_events, 0},
                     {inner_events != 0 ? inner_fd : -1, inner_events, 0},
                     {stop_fd, POLLIN, 0}};
    if (MillisUntil(idle_deadline) == 0) return {RelayEnd::kIdleTimeout, ""};
    const int timeout = MillisUntil(std::min(idle_deadline, end_of_life));
    const int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) return {RelayEnd::kError, std::strerror(errno)};
    if (fds[2].revents != 0) return {RelayEnd::kStopped, ""};
  }
}

// Sends close_notify, then reads and drops what the client still sends until
// it closes too or kLingerTime passes, so that closing does not reset a
// connection whose last answer bytes the client has not read yet.
void CloseGently(SSL* ssl, int client_fd, int stop_fd) {
  ERR_clear_error();
  SSL_shutdown(ssl);  // best effort: one try, non-blocking
  ERR_clear_error();
  ::shutdown(client_fd, SHUT_WR);
  const Clock::time_point deadline = Clock::now() + kLingerTime;
  char sink[4096];
  while (WaitFor(client_fd, POLLIN, stop_fd, deadline) == Wait::kReady) {
    const ssize_t n = ::recv(client_fd, sink, sizeof(sink), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
  }
}

}  // namespace

RelayOutcome RelayTlsConnection(ssl_ctx_st* ctx, int client_fd, int inner_port, int stop_fd,
                                const std::atomic<bool>& stopping, RelayTimeouts timeouts) {
  try {
    openssl::Owned<SSL> ssl(SSL_new(ctx));
    if (ssl == nullptr || SSL_set_fd(ssl.get(), client_fd) != 1) {
      return {RelayEnd::kError, SslReason(SSL_ERROR_SSL, 0)};
    }
    NoDelay(client_fd);
    RelayOutcome handshake = Handshake(ssl.get(), client_fd, stop_fd, stopping, timeouts.handshake);
    if (handshake.end != RelayEnd::kDone) return handshake;

    // Only a client that finished its handshake takes one of the inner
    // server's few workers.
    std::string reason;
    const Fd inner(ConnectInner(inner_port, reason));
    if (inner.get() < 0) return {RelayEnd::kInnerUnavailable, reason};
    NoDelay(inner.get());
    RelayOutcome outcome = Pump(ssl.get(), client_fd, inner.get(), stop_fd, stopping, timeouts.idle,
                                timeouts.lifetime);
    if (outcome.end == RelayEnd::kDone) CloseGently(ssl.get(), client_fd, stop_fd);
    ERR_clear_error();
    return outcome;
  } catch (...) {
    // Only allocation can throw here; the connection is dropped, the front
    // end keeps serving.
    ERR_clear_error();
    return {RelayEnd::kError, "out of memory"};
  }
}

}  // namespace kcanary
