#include "loadgen/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ssl::context>> MakeClientTlsContext(const TlsOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // The session cache of an FTPS client is its control connection: every
  // data connection offers the control connection's current session
  // (TlsHandshake's `resume`). OpenSSL's internal client cache stays off: at
  // the end of a TLS 1.3 resumption it marks the resumed session
  // not-resumable ("tickets are single use"), so the second data connection
  // of a control connection would make a full handshake, which servers that
  // require session reuse refuse.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (!options.verify) {
    context->set_verify_mode(ssl::verify_none);
    return context;
  }
  context->set_verify_mode(ssl::verify_peer);
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load the system's TLS trust store: ", OpenSslError()));
    }
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS CA file '", options.ca_file, "': ", OpenSslError()));
  }
  return context;
}

absl::StatusOr<TlsClientConfig> ThreadTlsClientConfig(const TlsOptions& options,
                                                      const std::string& host) {
  // One context per thread and set of trust options: an engine thread runs
  // one io_context, so its connections never share OpenSSL state with
  // another thread's.
  thread_local std::map<std::pair<bool, std::string>, std::shared_ptr<ssl::context>> contexts;
  std::shared_ptr<ssl::context>& context = contexts[{options.verify, options.ca_file}];
  if (!context) {
    absl::StatusOr<std::shared_ptr<ssl::context>> made = MakeClientTlsContext(options);
    if (!made.ok()) return made.status();
    context = *std::move(made);
  }
  TlsClientConfig config;
  config.context = context;
  config.server_name = options.server_name.empty() ? host : options.server_name;
  config.verify = options.verify;
  return config;
}

asio::awaitable<StepResult> TlsHandshake(TlsStream& stream, const TlsClientConfig& config,
                                         net::Deadline& deadline, std::chrono::nanoseconds timeout,
                                         TlsStream* resume, std::string_view what) {
  SSL* ssl = stream.native_handle();
  const bool ip = IsIpAddress(config.server_name);
  if (!config.server_name.empty() && !ip) {
    SSL_set_tlsext_host_name(ssl, config.server_name.c_str());
  }
  if (config.verify && !config.server_name.empty()) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), config.server_name.c_str());
    } else {
      SSL_set1_host(ssl, config.server_name.c_str());
    }
  }
  if (resume != nullptr) {
    if (SSL_SESSION* session = SSL_get1_session(resume->native_handle())) {
      SSL_set_session(ssl, session);
      SSL_SESSION_free(session);
    }
  }
  deadline.ExpiresAfter(timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::client,
                                              asio::as_tuple(asio::use_awaitable));
  ec = deadline.MapError(ec);
  if (!ec) co_return StepResult{};
  StepResult r = StepResult::FromError(ec, absl::StrCat(std::string(what), ": TLS handshake"));
  if (r.error != v1::ERROR_CLASS_TLS) co_return r;
  r.message = absl::StrCat(std::string(what), ": TLS handshake with ", config.server_name,
                           " failed: ", ec.message());
  const long verify = SSL_get_verify_result(ssl);
  if (config.verify && verify != X509_V_OK) {
    absl::StrAppend(&r.message, ": ", X509_verify_cert_error_string(verify));
  }
  co_return r;
}

asio::awaitable<boost::system::error_code> TlsShutdown(TlsStream& stream, net::Deadline& deadline,
                                                       std::chrono::nanoseconds timeout) {
  deadline.ExpiresAfter(timeout);
  auto [ec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  ec = deadline.MapError(ec);
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    ec.clear();
  }
  co_return ec;
}

bool TlsSessionReused(TlsStream& stream) { return SSL_session_reused(stream.native_handle()) == 1; }

}  // namespace tpslab::loadgen
