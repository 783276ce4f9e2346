// TLS for tests: a throw-away PKI made in memory, and a client that verifies
// the server the way a careful scraper does.
//
//   const TestPki pki = MakeTestPki();
//   WriteFile(dir + "/ca.pem", pki.ca_cert);
//   TlsReply r = TlsGet(port, dir + "/ca.pem", "/metrics");
//   EXPECT_TRUE(r.handshake_ok) << r.error;
//   EXPECT_EQ(r.status, 200);
#pragma once

#include <string>

namespace kcanary::testing {

struct CertAndKey {
  std::string cert;  // PEM
  std::string key;   // PEM, unencrypted PKCS#8
};

struct TestPki {
  std::string ca_cert;  // PEM of a fresh self-signed CA
  CertAndKey server;    // signed by it; SAN IP:127.0.0.1 and DNS:localhost
};

/// A new CA and server certificate (P-256 keys, SHA-256). `valid_from_days`
/// and `valid_days` place the server certificate's validity relative to now
/// (e.g. -10, 5 for one that expired 5 days ago). Throws std::runtime_error.
TestPki MakeTestPki(int valid_from_days = -1, int valid_days = 30);

/// A plain TCP connection to 127.0.0.1:`port` (a blocking fd the caller
/// closes), or -1.
int ConnectLoopback(int port);

/// Writes `content` to `path` with permissions `mode`. Throws std::runtime_error.
void WriteFile(const std::string& path, const std::string& content, int mode = 0644);

struct TlsReply {
  bool handshake_ok = false;  // the handshake finished and the server certificate verified
  std::string error;          // why not, or why the exchange broke off
  int status = -1;            // HTTP status; -1 when there was no HTTP answer
  std::string headers;
  std::string body;
};

/// GET `path` from https://127.0.0.1:`port`, trusting only the CA in
/// `ca_file` and requiring the certificate to name IP 127.0.0.1 (TLS 1.2+).
/// `extra_headers`: more request header lines, each ending in "\r\n".
TlsReply TlsGet(int port, const std::string& ca_file, const std::string& path,
                const std::string& extra_headers = "", int timeout_ms = 5000);

/// A verified TLS connection held open by the test, for timing the server's
/// timeouts: connect, send what and when the test says, see when it closes.
class TlsConnection {
 public:
  TlsConnection();
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  /// Connects to 127.0.0.1:`port` and finishes a handshake verified against
  /// `ca_file`. False (see error()) when it could not.
  bool Connect(int port, const std::string& ca_file);
  bool Send(const std::string& bytes);
  /// Whether the server ended the connection (close, reset or TLS error)
  /// within `timeout_ms`; whatever it sent before is dropped.
  bool ClosedByServerWithin(int timeout_ms);
  const std::string& error() const { return error_; }

 private:
  struct State;
  State* state_;
  std::string error_;
};

}  // namespace kcanary::testing
