// Tests for HttpServer over real loopback sockets, with a tiny raw HTTP/1.1
// client (libcurl is not a guaranteed dependency).
#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_tls.h"

namespace kcanary {
namespace {

struct Reply {
  bool ok = false;  // false: could not connect or the answer was not HTTP
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Sends `raw` to 127.0.0.1:port and reads until the server closes the
// connection (the server does not keep connections alive).
Reply SendRaw(int port, const std::string& raw) {
  Reply reply;
  const int fd = testing::ConnectLoopback(port);
  if (fd < 0) return reply;
  timeval tv{};
  tv.tv_sec = 5;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);

  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos || data.rfind("HTTP/1.", 0) != 0) return reply;
  const std::size_t sp = data.find(' ');
  reply.status = std::stoi(data.substr(sp + 1, 3));
  std::size_t pos = data.find("\r\n") + 2;
  while (pos < end) {
    const std::size_t eol = data.find("\r\n", pos);
    const std::string line = data.substr(pos, eol - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  reply.body = data.substr(end + 4);
  reply.ok = true;
  return reply;
}

Reply Request(int port, const std::string& method, const std::string& target,
              const std::string& body = "") {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  return SendRaw(port, raw);
}

bool CanConnect(int port) {
  const int fd = testing::ConnectLoopback(port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

HttpResponse Hello() {
  HttpResponse r;
  r.body = "hello, canary\n";
  return r;
}

// One server for the read-only tests: Stop() takes up to ~2 s (CivetWeb's
// accept loop polls in 2 s quanta), so tests that stop a server own theirs.
class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new HttpServer();
    server_->Handle("/hello", Hello);
    server_->Handle("/boom", []() -> HttpResponse { throw std::runtime_error("handler failed"); });
    server_->Handle("/boom-int", []() -> HttpResponse { throw 42; });
    server_->Handle("/readyz", [] {
      HttpResponse r;
      r.status = 503;
      r.content_type = "application/json";
      r.body = R"({"ready":false})";
      return r;
    });
    start_status_ = server_->Start("127.0.0.1:0");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_.ok()) << start_status_.message();
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }

  static HttpServer* server_;
  static Status start_status_;
  int port_ = 0;
};

HttpServer* HttpServerTest::server_ = nullptr;
Status HttpServerTest::start_status_;

TEST_F(HttpServerTest, GetServesHandlerBodyAndContentType) {
  const Reply r = Request(port_, "GET", "/hello");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello, canary\n");
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
  EXPECT_NE(r.headers.at("date").find(" GMT"), std::string::npos);
}

TEST_F(HttpServerTest, HandlerStatusAndContentTypePassThrough) {
  const Reply r = Request(port_, "GET", "/readyz");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"ready":false})");
}

TEST_F(HttpServerTest, QueryStringDoesNotAffectMatching) {
  const Reply r = Request(port_, "GET", "/hello?name[]=x&y=1");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello, canary\n");
}

TEST_F(HttpServerTest, HeadSendsHeadersWithoutBody) {
  const Reply r = Request(port_, "HEAD", "/hello");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(Hello().body.size()));
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  for (const char* path : {"/nope", "/", "/hello/", "/HELLO", "/hello/../etc/passwd"}) {
    const Reply r = Request(port_, "GET", path);
    ASSERT_TRUE(r.ok) << path;
    EXPECT_EQ(r.status, 404) << path;
  }
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllowHeader) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const Reply r = Request(port_, method, "/hello", "payload");
    ASSERT_TRUE(r.ok) << method;
    EXPECT_EQ(r.status, 405) << method;
    ASSERT_EQ(r.headers.count("allow"), 1u) << method;
    EXPECT_EQ(r.headers.at("allow"), "GET, HEAD") << method;
  }
}

TEST_F(HttpServerTest, ThrowingHandlerGives500AndServerKeepsServing) {
  for (const char* path : {"/boom", "/boom-int"}) {
    const Reply r = Request(port_, "GET", path);
    ASSERT_TRUE(r.ok) << path;
    EXPECT_EQ(r.status, 500) << path;
    EXPECT_EQ(r.body.find("handler failed"), std::string::npos) << "exception text leaked";
  }
  const Reply next = Request(port_, "GET", "/hello");
  ASSERT_TRUE(next.ok);
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "hello, canary\n");
}

TEST_F(HttpServerTest, MalformedRequestIsRejectedAndServerKeepsServing) {
  const Reply bad = SendRaw(port_, "GARBAGE\r\n\r\n");
  ASSERT_TRUE(bad.ok);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Request(port_, "GET", "/hello").status, 200);
}

TEST_F(HttpServerTest, InvalidHandlerStatusBecomes500) {
  server_->Handle("/weird", [] {
    HttpResponse r;
    r.status = 42;
    return r;
  });
  server_->Handle("/inject", [] {
    HttpResponse r;
    r.content_type = "text/plain\r\nSet-Cookie: x=1";
    return r;
  });
  EXPECT_EQ(Request(port_, "GET", "/weird").status, 500);
  const Reply inject = Request(port_, "GET", "/inject");
  EXPECT_EQ(inject.status, 500);
  EXPECT_EQ(inject.headers.count("set-cookie"), 0u);
}

TEST_F(HttpServerTest, ServesConcurrentClients) {
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 25;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      for (int j = 0; j < kRequestsEach; ++j) {
        const Reply r = Request(port_, "GET", "/hello");
        if (r.ok && r.status == 200 && r.body == "hello, canary\n") ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kClients * kRequestsEach);
}

TEST_F(HttpServerTest, StartWhileRunningFails) {
  const Status s = server_->Start("127.0.0.1:0");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(server_->port(), port_);
  EXPECT_EQ(Request(port_, "GET", "/hello").status, 200);
}

TEST_F(HttpServerTest, BindToPortInUseNamesAddressAndReason) {
  HttpServer second;
  const std::string address = "127.0.0.1:" + std::to_string(port_);
  const Status s = second.Start(address);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find(address), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.message();
  EXPECT_EQ(second.port(), 0);
  // The failed attempt does not disturb the first server.
  EXPECT_EQ(Request(port_, "GET", "/hello").status, 200);
}

TEST(HttpServerStandaloneTest, StopReleasesPortAndRestartWorks) {
  HttpServer server;
  server.Handle("/hello", Hello);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const int port = server.port();
  ASSERT_EQ(Request(port, "GET", "/hello").status, 200);

  server.Stop();
  EXPECT_EQ(server.port(), 0);
  EXPECT_FALSE(CanConnect(port));
  server.Stop();  // idempotent

  const Status s = server.Start("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(server.port(), port);
  const Reply r = Request(port, "GET", "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello, canary\n");
}

TEST(HttpServerStandaloneTest, DestructorStops) {
  int port = 0;
  {
    HttpServer server;
    server.Handle("/healthz", [] { return HttpResponse{.body = "ok\n"}; });
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    port = server.port();
    EXPECT_EQ(Request(port, "GET", "/healthz").body, "ok\n");
  }
  EXPECT_FALSE(CanConnect(port));
}

TEST(HttpServerStandaloneTest, HandleReplacesHandler) {
  HttpServer server;
  server.Handle("/v", [] { return HttpResponse{.body = "1"}; });
  server.Handle("/v", [] { return HttpResponse{.body = "2"}; });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_EQ(Request(server.port(), "GET", "/v").body, "2");
}

TEST(HttpServerStandaloneTest, MalformedListenAddressIsInvalidArgument) {
  for (const char* listen :
       {"", "9642", "127.0.0.1", "127.0.0.1:", ":9642", "127.0.0.1:99999", "127.0.0.1:80s",
        "127.0.0.1:-1", "127.0.0.1:8080,127.0.0.1:8081", "127.0.0.1:123456"}) {
    HttpServer server;
    const Status s = server.Start(listen);
    EXPECT_FALSE(s.ok()) << listen;
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << listen << ": " << s.message();
    EXPECT_NE(s.message().find(listen), std::string::npos) << s.message();
    EXPECT_EQ(server.port(), 0);
  }
}

TEST(HttpServerStandaloneTest, UnbindableAddressNamesAddress) {
  HttpServer server;
  // TEST-NET-1 (RFC 5737): never assigned to a local interface.
  const Status s = server.Start("192.0.2.1:9642");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("192.0.2.1:9642"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("annot assign"), std::string::npos) << s.message();
}

// ------------------------------------------------------------ --listen-auth

std::string AuthorizedGet(const std::string& target, const std::string& credentials_base64) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
         "Authorization: Basic " + credentials_base64 + "\r\n\r\n";
}

TEST(HttpServerSecurityTest, BasicAuthGuardsEveryPathButTheOpenOnes) {
  HttpServer server;
  server.Handle("/hello", Hello);
  server.Handle("/healthz", [] { return HttpResponse{.body = "ok\n"}; });
  HttpSecurity security;
  security.users = {{"prom", "pw"}};
  security.open_paths = {"/healthz"};
  ASSERT_TRUE(server.Start("127.0.0.1:0", security).ok());
  const int port = server.port();

  const Reply none = Request(port, "GET", "/hello");
  ASSERT_TRUE(none.ok);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers.at("www-authenticate"), "Basic realm=\"kcanary\", charset=\"UTF-8\"");
  EXPECT_EQ(none.body.find("hello"), std::string::npos);
  EXPECT_EQ(SendRaw(port, AuthorizedGet("/hello", "cHJvbTpwdzI=")).status, 401);  // prom:pw2
  const Reply good = SendRaw(port, AuthorizedGet("/hello", "cHJvbTpwdw=="));      // prom:pw
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.body, "hello, canary\n");
  // Unknown paths do not tell an anonymous client what exists.
  EXPECT_EQ(Request(port, "GET", "/nope").status, 401);
  EXPECT_EQ(SendRaw(port, AuthorizedGet("/nope", "cHJvbTpwdw==")).status, 404);
  // Probes need no credentials.
  const Reply health = Request(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
}

}  // namespace
}  // namespace kcanary
