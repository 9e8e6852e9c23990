// TLS for loadgen's FTPS (RFC 4217 explicit TLS) and HTTPS clients: client
// contexts (TLS 1.2 or newer, certificate verification as TlsOptions say, a
// client session cache), one per thread and therefore per io_context, and
// the handshake and close_notify shutdown with a deadline, their failures
// classified as ERROR_CLASS_TLS with OpenSSL's reason and, for certificate
// errors, the verification result.
//
// Usage (inside a coroutine on the connection's executor):
//   absl::StatusOr<TlsClientConfig> tls = ThreadTlsClientConfig(options, "127.0.0.1");
//   TlsStream stream(socket, *tls->context);
//   StepResult r = co_await TlsHandshake(stream, *tls, deadline, timeout, nullptr, "AUTH TLS");
//   ... data connection of the same FTP session, resuming the control session:
//   r = co_await TlsHandshake(data_stream, *tls, deadline, timeout, &control_stream, "data");
//   co_await TlsShutdown(stream, deadline, timeout);
#ifndef TPSLAB_LOADGEN_TLS_CLIENT_H_
#define TPSLAB_LOADGEN_TLS_CLIENT_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/net/deadline.h"
#include "loadgen/step_result.h"
#include "loadgen/tls_options.h"

namespace tpslab::loadgen {

// A TLS stream over a socket its owner keeps (and closes).
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

// How a client speaks TLS to one target.
struct TlsClientConfig {
  // The context: trust store, verification mode, session cache. Shared by
  // the clients of one thread. Never null in a config made below.
  std::shared_ptr<boost::asio::ssl::context> context;
  // Sent as SNI (unless an IP address) and, when verifying, checked against
  // the certificate. Default empty (no SNI, no name check).
  std::string server_name;
  // Verify the certificate. Default true.
  bool verify = true;
};

// Creates a client context: TLS 1.2 minimum, peer verification against
// `options.ca_file` (or the system trust store) when `options.verify`.
// Sessions are cached by their connections (an FTP data connection resumes
// its control connection's), not in the context. Fails with InvalidArgument naming the CA
// file and OpenSSL's reason when it cannot be loaded.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const TlsOptions& options);

// Returns the calling thread's config for `options` and a target whose URL
// host is `host`; the context is created on the thread's first call with
// these options and shared by later ones.
absl::StatusOr<TlsClientConfig> ThreadTlsClientConfig(const TlsOptions& options,
                                                      const std::string& host);

// Runs the client handshake on `stream`, bounded by `deadline` (bound to
// the stream's socket) set to `timeout`. Sets SNI and the name to verify
// from `config`; when `resume` is not null, offers its session (the FTP
// control connection's, RFC 4217 section 10) for resumption. Failures are
// ERROR_CLASS_TLS ("<what>: TLS handshake failed: certificate verify failed
// (self-signed certificate)"), or the I/O error's class when the peer
// closed, reset or timed out.
boost::asio::awaitable<StepResult> TlsHandshake(TlsStream& stream, const TlsClientConfig& config,
                                                net::Deadline& deadline,
                                                std::chrono::nanoseconds timeout, TlsStream* resume,
                                                std::string_view what);

// Sends close_notify and waits for the peer's (or for it to close), bounded
// by `deadline` set to `timeout`. Returns the error, if any, with the end of
// the connection and a truncated stream counted as success.
boost::asio::awaitable<boost::system::error_code> TlsShutdown(TlsStream& stream,
                                                              net::Deadline& deadline,
                                                              std::chrono::nanoseconds timeout);

// True when the last handshake on `stream` resumed a session.
bool TlsSessionReused(TlsStream& stream);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_TLS_CLIENT_H_
