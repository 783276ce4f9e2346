// `kcanary run --listen-tls-cert/--listen-tls-key` as a user meets it: the
// listener speaks TLS only (curl and an OpenSSL client verify it against a
// throw-away CA), basic auth works through it, plain HTTP gets nothing, SIGTERM
// with connections open stops cleanly, and bad files exit 2 naming the flag.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/integration/support/it_support.h"
#include "tests/support/test_tls.h"

namespace kcanary::it {
namespace {

using kcanary::testing::ConnectLoopback;
using kcanary::testing::MakeTestPki;
using kcanary::testing::TestPki;
using kcanary::testing::TlsGet;
using kcanary::testing::WriteFile;

constexpr const char* kCurl = "/usr/bin/curl";
// prom:s3cret-tls-listener
constexpr const char* kAuthHeader = "Authorization: Basic cHJvbTpzM2NyZXQtdGxzLWxpc3RlbmVy\r\n";

class TlsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestPki pki = MakeTestPki();
    WriteFile(dir_.Sub("ca.pem"), pki.ca_cert);
    WriteFile(dir_.Sub("tls.crt"), pki.server.cert);
    WriteFile(dir_.Sub("tls.key"), pki.server.key, 0600);
    WriteFile(dir_.Sub("listen-auth"), "prom:s3cret-tls-listener\n", 0600);
  }

  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), KcanaryBinary());
    return RunToExit(std::move(args), dir_.path(), 20s);
  }

  // curl's HTTP status for https://127.0.0.1:<port><path>, verifying against
  // ca.pem; "000" when there was no answer.
  std::string CurlStatus(int port, const std::string& path, const std::string& user = "") {
    std::vector<std::string> args = {kCurl,        "-sS",
                                     "--cacert",   dir_.Sub("ca.pem"),
                                     "-o",         dir_.Sub("curl-body"),
                                     "-w",         "%{http_code}",
                                     "--max-time", "10"};
    if (!user.empty()) args.insert(args.end(), {"-u", user});
    args.push_back("https://127.0.0.1:" + std::to_string(port) + path);
    return RunToExit(std::move(args), dir_.path(), 15s).out;
  }

  TempDir dir_;
};

TEST_F(TlsListenerTest, ServesVerifiedTlsWithBasicAuthAndNothingInTheClear) {
  const int port = FreeLoopbackPort();
  Child child(
      {KcanaryBinary(), "run", "-b", "127.0.0.1:1", "--state-dir", dir_.Sub("state"), "--listen",
       "127.0.0.1:" + std::to_string(port), "--listen-auth", dir_.Sub("listen-auth"),
       "--listen-tls-cert", dir_.Sub("tls.crt"), "--listen-tls-key", dir_.Sub("tls.key")},
      dir_.path());
  ASSERT_TRUE(WaitUntil(
      [&] { return TlsGet(port, dir_.Sub("ca.pem"), "/healthz", "", 1000).status == 200; }, 15s))
      << child.Stdout() << child.Stderr();

  // An OpenSSL client that verifies the chain and the IP address.
  const auto anonymous = TlsGet(port, dir_.Sub("ca.pem"), "/metrics");
  ASSERT_TRUE(anonymous.handshake_ok) << anonymous.error;
  EXPECT_EQ(anonymous.status, 401);
  const auto metrics = TlsGet(port, dir_.Sub("ca.pem"), "/metrics", kAuthHeader);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(CountOf(ParseMetrics(metrics.body), "kcanary_kafka_up"), 1) << metrics.body;

  // curl, as a Prometheus-like scraper would be configured.
  if (::access(kCurl, X_OK) == 0) {
    EXPECT_EQ(CurlStatus(port, "/healthz"), "200");
    EXPECT_EQ(CurlStatus(port, "/metrics"), "401");
    EXPECT_EQ(CurlStatus(port, "/metrics", "prom:s3cret-tls-listener"), "200");
    EXPECT_EQ(CurlStatus(port, "/status", "prom:wrong"), "401");
  }

  // Plain HTTP on the TLS port: no HTTP answer at all.
  const HttpReply plain = HttpGet(port, "/healthz", 3000);
  EXPECT_EQ(plain.status, -1) << plain.headers << plain.body;
  EXPECT_EQ(plain.body.find("ok"), std::string::npos);
  // ... and it is counted: the failed handshake, in the listener's counter.
  EXPECT_TRUE(WaitUntil(
      [&] {
        const auto after = TlsGet(port, dir_.Sub("ca.pem"), "/metrics", kAuthHeader);
        return SumOf(ParseMetrics(after.body), "kcanary_listener_tls_handshake_failures_total") >=
               1;
      },
      10s));

  // SIGTERM with a connection open (mid-handshake) still stops cleanly.
  const int open = ConnectLoopback(port);
  ASSERT_GE(open, 0);
  child.Signal(SIGTERM);
  const std::optional<int> status = child.Wait(20s);
  ::close(open);
  ASSERT_TRUE(status.has_value()) << "still running 20 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << child.Stderr();
  const std::string log = child.Stdout() + child.Stderr();
  EXPECT_NE(log.find("on https://127.0.0.1:" + std::to_string(port) + " (TLS: subject"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("stopped cleanly"), std::string::npos) << log;
  EXPECT_NE(log.find("TLS handshake failed"), std::string::npos) << log;  // the plain GET
  EXPECT_EQ(log.find("s3cret-tls-listener"), std::string::npos);
}

TEST_F(TlsListenerTest, MissingCertificateExits2NamingFlagAndFile) {
  const RunResult r =
      Run({"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0", "--listen-tls-cert",
           dir_.Sub("missing"), "--listen-tls-key", dir_.Sub("tls.key")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("kcanary run: --listen-tls-cert " + dir_.Sub("missing") +
                       ": cannot read it: No such file or directory"),
            std::string::npos)
      << r.err;
}

TEST_F(TlsListenerTest, KeyOfAnotherCertificateExits2) {
  WriteFile(dir_.Sub("other.key"), MakeTestPki().server.key, 0600);
  const RunResult r =
      Run({"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0", "--listen-tls-cert",
           dir_.Sub("tls.crt"), "--listen-tls-key", dir_.Sub("other.key")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--listen-tls-key " + dir_.Sub("other.key") +
                       ": does not belong to the certificate in " + dir_.Sub("tls.crt")),
            std::string::npos)
      << r.err;
  // Nothing was started: no state directory was created.
  EXPECT_NE(::access(dir_.Sub("state").c_str(), F_OK), 0);
}

TEST_F(TlsListenerTest, GarbageKeyOrCertWithoutKeyExits2) {
  WriteFile(dir_.Sub("garbage"), "-----BEGIN PRIVATE KEY-----\nnonsense\n", 0600);
  RunResult r =
      Run({"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0", "--listen-tls-cert",
           dir_.Sub("tls.crt"), "--listen-tls-key", dir_.Sub("garbage")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--listen-tls-key " + dir_.Sub("garbage") + ": no usable PEM private key"),
            std::string::npos)
      << r.err;
  r = Run({"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0", "--listen-tls-cert",
           dir_.Sub("tls.crt")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--listen-tls-cert: needs --listen-tls-key too"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kcanary::it
