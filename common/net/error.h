// Typed errors of tpslab's networking core (common/net), as a
// boost::system error category so they travel in the same error_code as
// Asio's own errors (the pattern of Boost.Beast's http/error.hpp).
//
// Usage:
//   auto [ec, line] = co_await reader.ReadLine(socket, deadline);
//   if (ec == tpslab::net::Error::line_too_long) {
//     co_await Reply(socket, "500 Command line too long.\r\n");
//   } else if (ec == tpslab::net::Error::timed_out) {
//     co_return;  // idle peer: close the session
//   }
//
// Error::timed_out is also equivalent to the portable condition
// boost::system::errc::timed_out, so `ec == errc::timed_out` matches it.
#ifndef TPSLAB_COMMON_NET_ERROR_H_
#define TPSLAB_COMMON_NET_ERROR_H_

#include <boost/system/error_code.hpp>
#include <type_traits>

namespace tpslab::net {

// Errors produced by common/net. Zero is success, as for every error_code.
enum class Error {
  // A line did not end within the LineReader's limit (terminator included).
  // At most `limit` bytes were read; the next ReadLine skips the rest of the
  // line, so a server can reply "500 line too long" and go on.
  line_too_long = 1,

  // The peer closed the connection after part of a line but before its
  // terminator. Distinct from asio::error::eof, which means the stream ended
  // cleanly between lines.
  partial_line,

  // The operation's deadline passed before it completed; the pending I/O was
  // cancelled. The connection is usually to be closed.
  timed_out,
};

// The category of Error values; its name() is "tpslab.net".
const boost::system::error_category& ErrorCategory() noexcept;

// Makes an error_code of ErrorCategory(); found by ADL, so
// `boost::system::error_code ec = Error::timed_out;` works.
boost::system::error_code make_error_code(Error e) noexcept;

}  // namespace tpslab::net

namespace boost::system {
template <>
struct is_error_code_enum<tpslab::net::Error> : std::true_type {};
}  // namespace boost::system

#endif  // TPSLAB_COMMON_NET_ERROR_H_
