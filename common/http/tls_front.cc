#include "common/http/tls_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace kcanary {
namespace {

using Clock = std::chrono::steady_clock;

std::string PeerName(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text, sizeof(text));
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text, sizeof(text));
  }
  return text;
}

// Binds and listens on "host:port" (already validated by HttpServer). IPv4
// only, like the inner CivetWeb, so both accept the same addresses.
int OpenListener(const std::string& listen, std::string& reason) {
  const std::size_t colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    reason = std::string("cannot resolve '") + host + "': " + gai_strerror(rc);
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int on = 1;
  // A restart must not wait for the last run's connections in TIME_WAIT.
  const bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
                  ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(fd, 128) == 0;
  if (!ok) reason = std::strerror(errno);
  ::freeaddrinfo(found);
  if (!ok && fd >= 0) ::close(fd);
  return ok ? fd : -1;
}

int BoundPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

}  // namespace

TlsFront::~TlsFront() { Stop(); }

Status TlsFront::Start(const std::string& listen, std::shared_ptr<const TlsServerContext> context,
                       int inner_port, TlsLimits limits) {
  if (listen_fd_ >= 0) {
    return Status::FailedPrecondition("TLS listener already running on port " +
                                      std::to_string(port()));
  }
  if (context == nullptr || limits.max_connections < 1 || inner_port <= 0) {
    return Status::InvalidArgument("TLS listener: no context, no inner port or no connections");
  }
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("TLS listener: pipe: ") + std::strerror(errno));
  }
  std::string reason;
  listen_fd_ = OpenListener(listen, reason);
  if (listen_fd_ < 0) {
    Stop();
    return Status::IoError("cannot listen for HTTPS on " + listen + ": " + reason);
  }
  context_ = std::move(context);
  limits_ = limits;
  inner_port_ = inner_port;
  stopping_.store(false);
  try {
    acceptor_ = std::thread([this] { AcceptLoop(); });
  } catch (const std::exception& e) {
    Stop();
    return Status::Internal(std::string("TLS listener: cannot start a thread: ") + e.what());
  }
  port_.store(BoundPort(listen_fd_), std::memory_order_release);
  return Status::Ok();
}

void TlsFront::Stop() {
  stopping_.store(true);
  if (stop_pipe_[1] >= 0) {
    const char wake = 's';
    [[maybe_unused]] const ssize_t n = ::write(stop_pipe_[1], &wake, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  // The acceptor is gone: nobody else touches connections_ now.
  for (const std::unique_ptr<Connection>& connection : connections_) connection->thread.join();
  connections_.clear();
  for (int* fd : {&listen_fd_, &stop_pipe_[0], &stop_pipe_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  port_.store(0, std::memory_order_release);
  context_.reset();
}

void TlsFront::AcceptLoop() {
  pthread_setname_np(pthread_self(), "kc:tls-accept");
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    // The timeout only bounds how long finished threads wait to be joined.
    const int n = ::poll(fds, 2, 1000);
    JoinFinished();
    if (n < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
    if (fds[1].revents != 0) break;
    if ((fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the pending connection stays queued
        // and poll() would report it at once again. Back off instead of spinning.
        pollfd stop = {stop_pipe_[0], POLLIN, 0};
        ::poll(&stop, 1, 100);
      }
      continue;  // EAGAIN, ECONNABORTED, ...: that client is gone
    }
    Accepted(fd, PeerName(addr));
  }
}

void TlsFront::Accepted(int fd, const std::string& peer) {
  if (active_.load() >= limits_.max_connections) {
    // Counted before the close, here and below: a client that sees its
    // connection closed then finds it in the counter.
    NoteRejected();
    ::close(fd);
    return;
  }
  active_.fetch_add(1);
  try {
    connections_.push_back(std::make_unique<Connection>());
    Connection* connection = connections_.back().get();
    try {
      connection->thread =
          std::thread([this, fd, peer, connection] { Serve(fd, peer, connection); });
    } catch (...) {
      connections_.pop_back();
      throw;
    }
  } catch (...) {
    // No memory or no thread for it: drop this client, keep serving.
    active_.fetch_sub(1);
    NoteRejected();
    ::close(fd);
  }
}

void TlsFront::Serve(int fd, const std::string& peer, Connection* self) {
  pthread_setname_np(pthread_self(), "kc:tls-conn");
  // A client that goes away mid-answer must cost an EPIPE, not the process.
  // OpenSSL writes with write(), which has no MSG_NOSIGNAL; SIGPIPE is
  // thread-directed, so blocking it here is enough.
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);

  const RelayOutcome outcome = RelayTlsConnection(context_->get(), fd, inner_port_, stop_pipe_[0],
                                                  stopping_, limits_.timeouts);
  // Counted before the close, like a rejection.
  const bool handshake_failed =
      outcome.end == RelayEnd::kHandshakeFailed || outcome.end == RelayEnd::kHandshakeTimeout;
  if (handshake_failed) handshake_failures_.fetch_add(1);
  ::close(fd);
  switch (outcome.end) {
    case RelayEnd::kHandshakeFailed:
    case RelayEnd::kHandshakeTimeout:
      NoteFailure(peer, outcome);
      break;
    case RelayEnd::kInnerUnavailable:
      NoteFailure(peer, outcome);
      break;
    case RelayEnd::kError:
      spdlog::debug("TLS listener: connection from {} ended: {}", peer, outcome.reason);
      break;
    case RelayEnd::kIdleTimeout:
      spdlog::debug("TLS listener: closed idle connection from {}", peer);
      break;
    case RelayEnd::kTooLong:
      spdlog::debug("TLS listener: closed connection from {} open for {} ms", peer,
                    limits_.timeouts.lifetime.count());
      break;
    case RelayEnd::kDone:
    case RelayEnd::kStopped:
      break;
  }
  active_.fetch_sub(1);
  self->done.store(true, std::memory_order_release);
}

void TlsFront::JoinFinished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done.load(std::memory_order_acquire)) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void TlsFront::NoteFailure(const std::string& peer, const RelayOutcome& outcome) {
  try {
    std::lock_guard<std::mutex> lock(log_mu_);
    uint64_t held_back = 0;
    if (!failure_log_.Admit(Clock::now(), &held_back)) return;
    const std::string what = outcome.end == RelayEnd::kInnerUnavailable
                                 ? "cannot reach the HTTP server behind it"
                                 : "TLS handshake failed";
    spdlog::warn("TLS listener: {} for {}: {}{}", what, peer, outcome.reason,
                 held_back == 0 ? std::string()
                                : fmt::format(" ({} more failure(s) not logged in the last minute)",
                                              held_back));
  } catch (...) {
    // Logging is best effort; a failure here must not end the thread.
  }
}

void TlsFront::NoteRejected() {
  rejected_.fetch_add(1);
  try {
    std::lock_guard<std::mutex> lock(log_mu_);
    uint64_t held_back = 0;
    if (!reject_log_.Admit(Clock::now(), &held_back)) return;
    spdlog::warn("TLS listener: {} connections open (the cap): closed a new one{}",
                 limits_.max_connections,
                 held_back == 0 ? std::string()
                                : fmt::format(" ({} more closed in the last minute)", held_back));
  } catch (...) {
  }
}

}  // namespace kcanary
