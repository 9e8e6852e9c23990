// TLS for FTPS (RFC 4217): the server's OpenSSL context, shared by every
// control and data connection of the server.
//
//   absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> tls =
//       MakeServerTlsContext("cert.pem", "key.pem");
//   boost::asio::ssl::stream<tcp::socket&> stream(socket, **tls);
//   ... after the handshake of a data connection:
//   if (!SessionReused(stream)) refuse();
#ifndef TPSLAB_FTPD_TLS_H_
#define TPSLAB_FTPD_TLS_H_

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tpslab::ftpd {

// A server context with TLS 1.2 as the minimum version, the certificate
// chain from `cert_file` and the private key from `key_file` (PEM), and a
// server-side session cache plus session tickets, so that data connections
// can resume the control connection's session. Errors name the file and
// OpenSSL's reason.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

// True when the handshake of `stream` resumed an earlier session
// (SSL_session_reused), as a data connection that reuses its control
// connection's session does.
template <typename Stream>
bool SessionReused(boost::asio::ssl::stream<Stream>& stream) {
  return SSL_session_reused(stream.native_handle()) == 1;
}

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_TLS_H_
