// The listener's TLS: loading the certificate and key (TlsServerContext), and
// HttpServer behind kcanary's own TLS front end over real loopback sockets,
// with a throw-away CA and a client that verifies the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/http/http_server.h"
#include "common/http/tls_context.h"
#include "tests/support/test_tls.h"

namespace kcanary {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ConnectLoopback;
using testing::MakeTestPki;
using testing::TestPki;
using testing::TlsGet;
using testing::TlsReply;
using testing::WriteFile;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kcanary-tls-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes ca.pem, server.pem and server.key (mode 0600, as deployed) into `dir`.
TestPki WritePki(const TempDir& dir) {
  TestPki pki = MakeTestPki();
  WriteFile(dir.Sub("ca.pem"), pki.ca_cert);
  WriteFile(dir.Sub("server.pem"), pki.server.cert);
  WriteFile(dir.Sub("server.key"), pki.server.key, 0600);
  return pki;
}

// Whether the server closed `fd` within `timeout` (EOF or reset).
bool ClosedByPeerWithin(int fd, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  char buf[256];
  while (Clock::now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
    if (::recv(fd, buf, sizeof(buf), 0) <= 0) return true;
  }
  return false;
}

template <typename Pred>
bool WaitFor(Pred done, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// ---------------------------------------------------------- TlsServerContext

TEST(TlsServerContextTest, LoadsAPemCertificateAndA0600Key) {
  TempDir dir;
  WritePki(dir);
  auto tls = TlsServerContext::Load(dir.Sub("server.pem"), dir.Sub("server.key"));
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  EXPECT_NE((*tls)->get(), nullptr);
  EXPECT_NE((*tls)->summary().find("CN = 127.0.0.1"), std::string::npos) << (*tls)->summary();
  EXPECT_FALSE((*tls)->outside_validity());
}

TEST(TlsServerContextTest, MissingFileNamesFlagAndPath) {
  TempDir dir;
  WritePki(dir);
  auto tls =
      TlsServerContext::Load(dir.Sub("absent.pem"), dir.Sub("server.key"), "--cert", "--key");
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), Status::Code::kIoError);
  EXPECT_EQ(tls.status().message(),
            "--cert " + dir.Sub("absent.pem") + ": cannot read it: No such file or directory");
  tls = TlsServerContext::Load(dir.Sub("server.pem"), dir.Sub("absent.key"), "--cert", "--key");
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().message().rfind("--key " + dir.Sub("absent.key") + ": cannot read", 0), 0u)
      << tls.status().message();
  // A directory opens, but does not read.
  std::filesystem::create_directory(dir.Sub("certs.d"));
  tls = TlsServerContext::Load(dir.Sub("certs.d"), dir.Sub("server.key"), "--cert", "--key");
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().message(),
            "--cert " + dir.Sub("certs.d") + ": cannot read it: Is a directory");
}

TEST(TlsServerContextTest, GarbageAndSwappedFilesAreRejected) {
  TempDir dir;
  const TestPki pki = WritePki(dir);
  WriteFile(dir.Sub("garbage"), "not a certificate\n");
  auto tls = TlsServerContext::Load(dir.Sub("garbage"), dir.Sub("server.key"));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(tls.status().message().find("no PEM certificate"), std::string::npos)
      << tls.status().message();
  // Key and certificate given the wrong way round.
  tls = TlsServerContext::Load(dir.Sub("server.key"), dir.Sub("server.pem"));
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.status().message().find("no PEM certificate"), std::string::npos);
  tls = TlsServerContext::Load(dir.Sub("server.pem"), dir.Sub("garbage"));
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.status().message().find("no usable PEM private key"), std::string::npos)
      << tls.status().message();
}

TEST(TlsServerContextTest, KeyOfAnotherCertificateIsRejected) {
  TempDir dir;
  WritePki(dir);
  WriteFile(dir.Sub("other.key"), MakeTestPki().server.key, 0600);
  auto tls = TlsServerContext::Load(dir.Sub("server.pem"), dir.Sub("other.key"));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().message(), "private key " + dir.Sub("other.key") +
                                        ": does not belong to the certificate in " +
                                        dir.Sub("server.pem"));
}

TEST(TlsServerContextTest, ExpiredCertificateLoadsButIsFlagged) {
  TempDir dir;
  const TestPki pki = MakeTestPki(-10, 5);
  WriteFile(dir.Sub("server.pem"), pki.server.cert);
  WriteFile(dir.Sub("server.key"), pki.server.key, 0600);
  auto tls = TlsServerContext::Load(dir.Sub("server.pem"), dir.Sub("server.key"));
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  EXPECT_TRUE((*tls)->outside_validity());
}

// ------------------------------------------------------- HttpServer over TLS

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { WritePki(dir_); }

  // Starts the server with TLS and `security` (its tls fields are filled in).
  void Start(HttpSecurity security = {}) {
    auto tls = TlsServerContext::Load(dir_.Sub("server.pem"), dir_.Sub("server.key"));
    ASSERT_TRUE(tls.ok()) << tls.status().message();
    security.tls = *tls;
    server_.Handle("/hello", [] { return HttpResponse{.body = "hello, canary\n"}; });
    server_.Handle("/healthz", [] { return HttpResponse{.body = "ok\n"}; });
    server_.Handle("/big", [] { return HttpResponse{.body = Big()}; });
    const Status s = server_.Start("127.0.0.1:0", std::move(security));
    ASSERT_TRUE(s.ok()) << s.message();
    port_ = server_.port();
    ASSERT_GT(port_, 0);
    ASSERT_NE(server_.tls_front(), nullptr);
  }

  TlsReply Get(const std::string& path, const std::string& headers = "") {
    return TlsGet(port_, dir_.Sub("ca.pem"), path, headers);
  }

  static std::string Big() {
    std::string body;
    for (int i = 0; body.size() < 1'000'000; ++i) body += "line " + std::to_string(i) + "\n";
    return body;
  }

  TempDir dir_;
  HttpServer server_;
  int port_ = 0;
};

TEST_F(HttpServerTlsTest, ServesOverVerifiedTls) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const TlsReply hello = Get("/hello");
  ASSERT_TRUE(hello.handshake_ok) << hello.error;
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello, canary\n");
  EXPECT_EQ(Get("/nope").status, 404);
  // A megabyte crosses the relay intact (many TLS records, partial writes).
  const TlsReply big = Get("/big");
  EXPECT_EQ(big.status, 200);
  EXPECT_TRUE(big.body == Big()) << big.body.size() << " bytes";
  EXPECT_EQ(server_.tls_front()->handshake_failures(), 0u);
}

TEST_F(HttpServerTlsTest, ClientRejectsServerOfAnotherCa) {
  ASSERT_NO_FATAL_FAILURE(Start());
  WriteFile(dir_.Sub("other-ca.pem"), MakeTestPki().ca_cert);
  const TlsReply r = TlsGet(port_, dir_.Sub("other-ca.pem"), "/hello");
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_EQ(r.status, -1);
  EXPECT_NE(r.error.find("certificate verify failed"), std::string::npos) << r.error;
}

TEST_F(HttpServerTlsTest, PlainHttpGetsNothingInTheClear) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  const std::string request = "GET /hello HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[1024];
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got.find("HTTP/"), std::string::npos) << got;
  EXPECT_EQ(got.find("hello"), std::string::npos) << got;
  EXPECT_TRUE(WaitFor([&] { return server_.tls_front()->handshake_failures() == 1; }, 2s));
  // And the listener goes on serving TLS.
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(HttpServerTlsTest, BasicAuthStillAppliesBehindTls) {
  HttpSecurity security;
  security.users = {{"prom", "pw"}};
  security.open_paths = {"/healthz"};
  ASSERT_NO_FATAL_FAILURE(Start(std::move(security)));
  const TlsReply none = Get("/hello");
  ASSERT_TRUE(none.handshake_ok) << none.error;
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body.find("hello"), std::string::npos);
  EXPECT_EQ(Get("/hello", "Authorization: Basic cHJvbTpwdzI=\r\n").status, 401);  // prom:pw2
  const TlsReply good = Get("/hello", "Authorization: Basic cHJvbTpwdw==\r\n");   // prom:pw
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.body, "hello, canary\n");
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(HttpServerTlsTest, SilentClientIsDroppedAfterHandshakeTimeoutAndBlocksNobody) {
  HttpSecurity security;
  security.tls_limits.timeouts.handshake = 500ms;
  ASSERT_NO_FATAL_FAILURE(Start(std::move(security)));
  const Clock::time_point connected = Clock::now();
  const int silent = ConnectLoopback(port_);
  ASSERT_GE(silent, 0);
  // Served meanwhile.
  EXPECT_EQ(Get("/hello").status, 200);
  EXPECT_TRUE(ClosedByPeerWithin(silent, 5s));
  EXPECT_GE(Clock::now() - connected, 400ms);
  ::close(silent);
  EXPECT_TRUE(WaitFor([&] { return server_.tls_front()->handshake_failures() == 1; }, 2s));
  EXPECT_TRUE(WaitFor([&] { return server_.tls_front()->active_connections() == 0; }, 2s));
}

TEST_F(HttpServerTlsTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  HttpSecurity security;
  security.tls_limits.timeouts.idle = 300ms;
  ASSERT_NO_FATAL_FAILURE(Start(std::move(security)));
  testing::TlsConnection idle;
  ASSERT_TRUE(idle.Connect(port_, dir_.Sub("ca.pem"))) << idle.error();
  const Clock::time_point connected = Clock::now();
  // Well before the inner server's own 5 s request timeout.
  EXPECT_TRUE(idle.ClosedByServerWithin(3000));
  EXPECT_GE(Clock::now() - connected, 250ms);
  EXPECT_EQ(Get("/hello").status, 200);
}

TEST_F(HttpServerTlsTest, TricklingClientIsClosedAfterTheLifetime) {
  HttpSecurity security;
  security.tls_limits.timeouts.idle = 500ms;
  security.tls_limits.timeouts.lifetime = 1500ms;
  ASSERT_NO_FATAL_FAILURE(Start(std::move(security)));
  testing::TlsConnection slow;
  ASSERT_TRUE(slow.Connect(port_, dir_.Sub("ca.pem"))) << slow.error();
  const Clock::time_point connected = Clock::now();
  // A byte every 100 ms is never idle and never a whole request.
  const std::string request =
      "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(200, 'x') + "\r\n\r\n";
  bool closed = false;
  for (char c : request) {
    if (!slow.Send(std::string(1, c)) || slow.ClosedByServerWithin(100)) {
      closed = true;
      break;
    }
    if (Clock::now() - connected > 10s) break;
  }
  EXPECT_TRUE(closed);
  const auto open_for = Clock::now() - connected;
  EXPECT_GE(open_for, 1400ms);
  EXPECT_LT(open_for, 5s);  // not the inner server's request timeout
}

TEST_F(HttpServerTlsTest, ConnectionsOverTheCapAreClosedAndServingGoesOn) {
  HttpSecurity security;
  security.tls_limits.max_connections = 3;
  security.tls_limits.timeouts.handshake = 3s;
  ASSERT_NO_FATAL_FAILURE(Start(std::move(security)));
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(ConnectLoopback(port_));
  ASSERT_TRUE(WaitFor([&] { return server_.tls_front()->active_connections() == 3; }, 2s));
  // Over the cap: accepted and closed at once, many times over.
  for (int i = 0; i < 20; ++i) {
    const int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(ClosedByPeerWithin(fd, 1s)) << i;
    ::close(fd);
  }
  EXPECT_EQ(server_.tls_front()->rejected_connections(), 20u);
  EXPECT_EQ(Get("/hello").status, -1);  // no slot yet
  // Once the held ones time out, the listener serves again.
  EXPECT_TRUE(WaitFor([&] { return server_.tls_front()->active_connections() == 0; }, 8s));
  EXPECT_EQ(Get("/hello").status, 200);
  for (int fd : held) ::close(fd);
}

TEST_F(HttpServerTlsTest, StopWithOpenConnectionsReturnsPromptly) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::vector<int> held;
  for (int i = 0; i < 10; ++i) held.push_back(ConnectLoopback(port_));
  ASSERT_TRUE(WaitFor([&] { return server_.tls_front()->active_connections() == 10; }, 2s));
  const Clock::time_point before = Clock::now();
  server_.Stop();
  // CivetWeb's accept loop alone takes up to ~2 s; the front end adds little.
  EXPECT_LT(Clock::now() - before, 6s);
  EXPECT_EQ(server_.port(), 0);
  EXPECT_EQ(server_.tls_front(), nullptr);
  for (int fd : held) {
    EXPECT_TRUE(ClosedByPeerWithin(fd, 1s));
    ::close(fd);
  }
}

TEST_F(HttpServerTlsTest, BusyAddressNamesIt) {
  ASSERT_NO_FATAL_FAILURE(Start());
  auto tls = TlsServerContext::Load(dir_.Sub("server.pem"), dir_.Sub("server.key"));
  ASSERT_TRUE(tls.ok());
  HttpServer second;
  HttpSecurity security;
  security.tls = *tls;
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  const Status s = second.Start(listen, security);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("cannot listen for HTTPS on " + listen), std::string::npos)
      << s.message();
  EXPECT_EQ(second.port(), 0);
}

}  // namespace
}  // namespace kcanary
