// TlsServerContext: the certificate, key and protocol settings of kcanary's
// TLS listener (--listen-tls-cert, --listen-tls-key), loaded once at start.
//
//   StatusOr<std::shared_ptr<const TlsServerContext>> tls =
//       TlsServerContext::Load("/etc/kcanary/tls.crt", "/etc/kcanary/tls.key");
//   if (!tls.ok()) return tls.status();  // names the file and what is wrong with it
//   SSL* ssl = SSL_new((*tls)->get());
//
// Both files are PEM. The certificate file holds the server certificate first,
// then any intermediates (sent to clients as the chain). The key must not be
// encrypted: there is nobody to type a passphrase, and OpenSSL would otherwise
// prompt on the terminal. The files are read here and never again, so a
// renewed certificate takes a restart.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX; OpenSSL headers stay out of this one

namespace kcanary {

class TlsServerContext {
 public:
  /// Reads and checks `cert_file` and `key_file`. Errors are kInvalidArgument
  /// (kIoError for an unreadable file) and read "<label> <path>: <problem>",
  /// where the labels name the files in the caller's terms (e.g. the flags);
  /// none quotes the key.
  static StatusOr<std::shared_ptr<const TlsServerContext>> Load(
      const std::string& cert_file, const std::string& key_file,
      std::string_view cert_label = "certificate", std::string_view key_label = "private key");

  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  /// The SSL_CTX to create server connections from (thread-safe for SSL_new).
  ssl_ctx_st* get() const { return ctx_; }
  /// "subject CN=..., valid until <date>", for the start-up log.
  const std::string& summary() const { return summary_; }
  /// The certificate's validity period had ended, or not begun, when loaded.
  /// Not an error: clients decide, and the operator sees a warning.
  bool outside_validity() const { return outside_validity_; }

 private:
  TlsServerContext() = default;

  ssl_ctx_st* ctx_ = nullptr;
  std::string summary_;
  bool outside_validity_ = false;
};

}  // namespace kcanary
