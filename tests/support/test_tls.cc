#include "tests/support/test_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/http/openssl_owned.h"

namespace kcanary::testing {
namespace {

using openssl::Owned;

void Check(bool ok, const char* what) {
  if (ok) return;
  char reason[256] = "";
  ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
  throw std::runtime_error(std::string(what) + ": " + reason);
}

Owned<EVP_PKEY> NewKey() {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  Check(ok == 1, "X509_add_ext");
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
// when `issuer` is null).
Owned<X509> NewCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
                    int from_days, int days) {
  Owned<X509> cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), (from_days + days) * 86400L);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (issuer == nullptr) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    AddExtension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  Check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string CertPem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return BioText(bio.get());
}

long NextSerial() {
  static std::atomic<long> serial{1000};
  return serial.fetch_add(1);
}

}  // namespace

TestPki MakeTestPki(int valid_from_days, int valid_days) {
  Owned<EVP_PKEY> ca_key = NewKey();
  // A name of its own, so that another test CA is a stranger, not a namesake.
  const long serial = NextSerial();
  const std::string ca_name = "kcanary test CA " + std::to_string(serial);
  Owned<X509> ca = NewCert(ca_key.get(), ca_name.c_str(), nullptr, ca_key.get(), serial, -1, 365);
  Owned<EVP_PKEY> key = NewKey();
  Owned<X509> cert = NewCert(key.get(), "127.0.0.1", ca.get(), ca_key.get(), NextSerial(),
                             valid_from_days, valid_days);
  return TestPki{CertPem(ca.get()), CertAndKey{CertPem(cert.get()), KeyPem(key.get())}};
}

void WriteFile(const std::string& path, const std::string& content, int mode) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  std::fclose(f);
  if (!ok || ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    throw std::runtime_error("cannot write " + path);
  }
}

TlsReply TlsGet(int port, const std::string& ca_file, const std::string& path,
                const std::string& extra_headers, int timeout_ms) {
  TlsReply reply;
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr || SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    reply.error = "cannot load CA " + ca_file;
    return reply;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    reply.error = "cannot connect";
    return reply;
  }
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  Owned<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  // The name check a client makes for https://127.0.0.1:port.
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    char reason[256] = "";
    ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
    reply.error = std::string("handshake: ") + reason +
                  " (verify: " + X509_verify_cert_error_string(verify) + ")";
    ::close(fd);
    return reply;
  }
  reply.handshake_ok = true;
  const std::string request = "GET " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nConnection: close\r\n" + extra_headers + "\r\n";
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0) {
    reply.error = "write failed";
  }
  std::string data;
  char buf[4096];
  for (;;) {
    const int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  SSL_shutdown(ssl.get());
  ::close(fd);
  ERR_clear_error();
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos || data.rfind("HTTP/1.", 0) != 0) {
    if (reply.error.empty())
      reply.error = "no HTTP answer (" + std::to_string(data.size()) + " bytes)";
    return reply;
  }
  reply.status = std::atoi(data.c_str() + data.find(' ') + 1);
  reply.headers = data.substr(0, end);
  reply.body = data.substr(end + 4);
  return reply;
}

struct TlsConnection::State {
  Owned<SSL_CTX> ctx;
  Owned<SSL> ssl;
  int fd = -1;
};

TlsConnection::TlsConnection() : state_(new State) {}

TlsConnection::~TlsConnection() {
  state_->ssl.reset();
  if (state_->fd >= 0) ::close(state_->fd);
  delete state_;
}

bool TlsConnection::Connect(int port, const std::string& ca_file) {
  state_->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (state_->ctx == nullptr ||
      SSL_CTX_load_verify_locations(state_->ctx.get(), ca_file.c_str(), nullptr) != 1) {
    error_ = "cannot load CA " + ca_file;
    return false;
  }
  SSL_CTX_set_verify(state_->ctx.get(), SSL_VERIFY_PEER, nullptr);
  state_->fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(state_->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error_ = "cannot connect";
    return false;
  }
  state_->ssl.reset(SSL_new(state_->ctx.get()));
  SSL_set_fd(state_->ssl.get(), state_->fd);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(state_->ssl.get()), "127.0.0.1");
  if (SSL_connect(state_->ssl.get()) != 1) {
    char reason[256] = "";
    ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
    error_ = std::string("handshake: ") + reason;
    return false;
  }
  return true;
}

bool TlsConnection::Send(const std::string& bytes) {
  return state_->ssl != nullptr &&
         SSL_write(state_->ssl.get(), bytes.data(), static_cast<int>(bytes.size())) > 0;
}

bool TlsConnection::ClosedByServerWithin(int timeout_ms) {
  if (state_->ssl == nullptr) return true;
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(state_->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[1024];
  for (;;) {
    const int n = SSL_read(state_->ssl.get(), buf, sizeof(buf));
    if (n > 0) continue;
    const int error = SSL_get_error(state_->ssl.get(), n);
    ERR_clear_error();
    // The receive timeout surfaces as a "want read" on a blocking socket.
    return error != SSL_ERROR_WANT_READ;
  }
}

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace kcanary::testing
