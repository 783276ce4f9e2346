// std::unique_ptr for the OpenSSL objects kcanary's TLS listener creates,
// freed with OpenSSL's own function for each type. Also used by the tests'
// throw-away CA and TLS client (tests/support/test_tls.cc).
//
//   openssl::Owned<BIO> bio(BIO_new(BIO_s_mem()));
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace kcanary::openssl {

struct Freer {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};

template <typename T>
using Owned = std::unique_ptr<T, Freer>;

}  // namespace kcanary::openssl
