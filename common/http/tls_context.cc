#include "common/http/tls_context.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/http/openssl_owned.h"

namespace kcanary {
namespace {

// PEM files of a certificate chain or a key are a few KiB; a bigger "file" is
// a wrong path (a log, a device), not something to slurp.
constexpr long kMaxPemBytes = 1 << 20;

// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's
// defaults, which are all of that kind already.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

using openssl::Owned;

// A file's bytes; the key's are wiped on destruction.
class FileBytes {
 public:
  ~FileBytes() {
    if (!data_.empty()) OPENSSL_cleanse(data_.data(), data_.size());
  }
  std::string& data() { return data_; }

 private:
  std::string data_;
};

// Reads `path` into `out`; the error says why in the OS's words.
Status ReadSmallFile(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::IoError(std::string("cannot read it: ") + std::strerror(errno));
  char buf[4096];
  Status status;
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof(buf), f);
    out.append(buf, n);
    if (static_cast<long>(out.size()) > kMaxPemBytes) {
      status = Status::InvalidArgument("larger than 1 MiB; not a PEM file");
      break;
    }
    if (n < sizeof(buf)) {
      if (std::ferror(f) != 0) {
        status = Status::IoError(std::string("cannot read it: ") + std::strerror(errno));
      }
      break;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  std::fclose(f);
  return status;
}

// OpenSSL's reason for the last failure on this thread ("" if none), then a
// clean error queue for whoever comes next.
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? std::string(" (OpenSSL: ") + reason + ")" : "";
}

Owned<BIO> MemoryBio(const std::string& bytes) {
  return Owned<BIO>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Declines every passphrase request: an encrypted key fails to load instead of
// OpenSSL prompting on a terminal that a service does not have.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

std::string Describe(X509* cert) {
  std::string out = "subject ";
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return out + "?";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                     XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  BIO_puts(bio.get(), ", valid until ");
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return out + std::string(data, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

StatusOr<std::shared_ptr<const TlsServerContext>> TlsServerContext::Load(
    const std::string& cert_file, const std::string& key_file, std::string_view cert_label,
    std::string_view key_label) {
  ERR_clear_error();
  const std::string cert_where = std::string(cert_label) + " " + cert_file + ": ";
  const std::string key_where = std::string(key_label) + " " + key_file + ": ";
  const auto invalid = [](const std::string& where, const std::string& what) {
    return Status::InvalidArgument(where + what + OpenSslReason());
  };

  FileBytes cert_bytes;
  if (Status s = ReadSmallFile(cert_file, cert_bytes.data()); !s.ok()) {
    return Status(s.code(), cert_where + s.message());
  }
  FileBytes key_bytes;
  if (Status s = ReadSmallFile(key_file, key_bytes.data()); !s.ok()) {
    return Status(s.code(), key_where + s.message());
  }

  Owned<BIO> cert_bio = MemoryBio(cert_bytes.data());
  Owned<X509> cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr)
                            : nullptr);
  if (cert == nullptr) {
    return invalid(cert_where, "no PEM certificate in it (want -----BEGIN CERTIFICATE-----)");
  }
  // The rest of the file, if anything, is the chain of intermediates.
  std::vector<Owned<X509>> chain;
  while (Owned<X509> next{PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassphrase, nullptr)}) {
    chain.push_back(std::move(next));
  }
  ERR_clear_error();  // the loop above ends on a "no start line" error

  Owned<BIO> key_bio = MemoryBio(key_bytes.data());
  Owned<EVP_PKEY> key(
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (key == nullptr) {
    return invalid(key_where,
                   "no usable PEM private key in it (want an unencrypted key, e.g. "
                   "-----BEGIN PRIVATE KEY-----)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(key_where + "does not belong to the certificate in " +
                                   cert_file);
  }

  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return Status::Internal("cannot create a TLS context" + OpenSslReason());
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); every Prometheus speaks 1.2+.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(),
                      SSL_OP_NO_COMPRESSION          // CRIME
                          | SSL_OP_NO_RENEGOTIATION  // a client-driven CPU sink, not needed
                          | SSL_OP_CIPHER_SERVER_PREFERENCE
                          // A client that closes without close_notify after
                          // reading its answer is normal; it is EOF, not an error.
                          | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // The relay keeps its write buffer still, but may offer less than it
  // offered before; partial writes keep a slow reader from blocking a write.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return Status::Internal("cannot set the TLS 1.2 cipher suites" + OpenSslReason());
  }
  SSL_CTX_set_default_passwd_cb(ctx.get(), NoPassphrase);
  // Fails for keys the security level rejects (e.g. RSA below 2048 bits).
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1) {
    return invalid(cert_where, "OpenSSL refuses this certificate");
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    return invalid(key_where, "OpenSSL refuses this key");
  }
  for (Owned<X509>& intermediate : chain) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), intermediate.get()) != 1) {
      return invalid(cert_where, "OpenSSL refuses an intermediate certificate");
    }
  }

  std::shared_ptr<TlsServerContext> out(new TlsServerContext());
  out->summary_ = Describe(cert.get());
  out->outside_validity_ = X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0 ||
                           X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0;
  out->ctx_ = ctx.release();
  ERR_clear_error();
  return std::shared_ptr<const TlsServerContext>(std::move(out));
}

}  // namespace kcanary
