// The outcome of one protocol step (an FTP command, an HTTP request) as the
// engine records it: an error class (ERROR_CLASS_UNSPECIFIED for success), a
// message for the log, and the payload bytes moved.
//
// Usage:
//   StepResult r = co_await session.Command("NOOP", 200);
//   if (!r.ok()) Log(r.message);   // "NOOP: expected 200, got 500 ..."
//   r = StepResult::FromError(ec, "connect 127.0.0.1:21");
#ifndef TPSLAB_LOADGEN_STEP_RESULT_H_
#define TPSLAB_LOADGEN_STEP_RESULT_H_

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/net/error.h"
#include "common/proto/load.pb.h"

namespace tpslab::loadgen {

struct StepResult {
  // ERROR_CLASS_UNSPECIFIED on success.
  v1::ErrorClass error = v1::ERROR_CLASS_UNSPECIFIED;
  // What went wrong; empty on success.
  std::string message;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;

  bool ok() const { return error == v1::ERROR_CLASS_UNSPECIFIED; }

  // Returns the error class of an I/O error: refused, timeout, reset (the
  // peer closed or reset the connection, also a TLS stream cut without
  // close_notify), TLS (an OpenSSL error: handshake, certificate, record) or
  // other.
  static v1::ErrorClass Classify(const boost::system::error_code& ec) {
    namespace error = boost::asio::error;
    if (ec == error::connection_refused) return v1::ERROR_CLASS_REFUSED;
    if (ec == boost::asio::ssl::error::stream_truncated) return v1::ERROR_CLASS_RESET;
    if (ec.category() == error::get_ssl_category() ||
        ec.category() == boost::asio::ssl::error::get_stream_category()) {
      return v1::ERROR_CLASS_TLS;
    }
    if (ec == net::Error::timed_out || ec == error::timed_out) return v1::ERROR_CLASS_TIMEOUT;
    if (ec == error::eof || ec == error::connection_reset || ec == error::broken_pipe ||
        ec == error::connection_aborted || ec == net::Error::partial_line) {
      return v1::ERROR_CLASS_RESET;
    }
    return v1::ERROR_CLASS_OTHER;
  }
  // A failed result for an I/O error during `what`.
  static StepResult FromError(const boost::system::error_code& ec, std::string_view what) {
    StepResult r;
    r.error = Classify(ec);
    r.message = std::string(what) + ": " + ec.message();
    return r;
  }
  // A failed result of class `error_class`.
  static StepResult Fail(v1::ErrorClass error_class, std::string message) {
    StepResult r;
    r.error = error_class;
    r.message = std::move(message);
    return r;
  }
};

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_STEP_RESULT_H_
