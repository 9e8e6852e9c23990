// LineReader: a bounded reader of CRLF-terminated lines for text protocols
// (FTP control connections, HTTP request and header lines), over any Asio
// AsyncReadStream (tcp::socket now, ssl::stream later).
//
// Memory is bounded by the limit: one buffer of `max_line` bytes, allocated
// once in the constructor. A line whose terminator does not arrive within
// `max_line` bytes yields Error::line_too_long after at most `max_line` bytes
// were read; the next ReadLine() first skips the rest of that line, so a
// server can answer "500 line too long" and go on with the next command.
//
// Usage (an FTP control loop):
//   LineReader reader(512);
//   Deadline deadline(socket.get_executor(), socket);
//   for (;;) {
//     deadline.ExpiresAfter(std::chrono::minutes(5));
//     auto [ec, line] = co_await reader.ReadLine(socket, deadline);
//     if (ec == Error::line_too_long) { /* reply 500 */ continue; }
//     if (ec) break;  // eof, partial_line, timed_out, socket errors
//     Dispatch(line);  // `line` is valid until the next ReadLine()
//   }
//
// Bytes received after a line stay buffered for the next call (pipelined
// commands); buffered() and Consume() hand them to a protocol that switches
// to binary after a line (e.g. an HTTP body after the headers).
#ifndef TPSLAB_COMMON_NET_LINE_READER_H_
#define TPSLAB_COMMON_NET_LINE_READER_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/net/deadline.h"
#include "common/net/error.h"

namespace tpslab::net {

// Result of LineReader::ReadLine().
struct LineResult {
  // Empty when a line was read. Otherwise: Error::line_too_long,
  // Error::partial_line (the peer closed mid-line), asio::error::eof (closed
  // cleanly between lines), Error::timed_out, or the stream's error.
  boost::system::error_code error;
  // The line without its terminator (LF, or CRLF); for Error::partial_line
  // the bytes received before the end of the stream; empty otherwise. Points
  // into the reader's buffer: valid until the next ReadLine() or until the
  // reader is destroyed.
  std::string_view line;
};

class LineReader {
 public:
  // Default limit: longer than any FTP command and most HTTP header lines.
  static constexpr std::size_t kDefaultMaxLine = 8192;

  // `max_line` (>= 1) bounds a line including its terminator: a line of
  // max_line - 2 bytes plus CRLF is accepted, one byte more is line_too_long.
  explicit LineReader(std::size_t max_line = kDefaultMaxLine);

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Returns the next line, reading from `stream` as needed; every read is
  // bounded by `deadline`, which must be bound to `stream` (or its lowest
  // layer) and armed by the caller. A trailing CR before the LF is removed;
  // other bytes are returned as they are. After Error::line_too_long this
  // call first discards the rest of that line. After a timeout or stream
  // error the partial line stays buffered, so a retry continues it.
  template <typename AsyncReadStream>
  boost::asio::awaitable<LineResult> ReadLine(AsyncReadStream& stream, Deadline& deadline);

  // Bytes received after the last line returned and not yet consumed.
  // Valid until the next ReadLine().
  std::string_view buffered() const {
    return std::string_view(buffer_.get() + begin_ + release_, end_ - begin_ - release_);
  }

  // Drops the first `n` (<= buffered().size()) buffered bytes, e.g. after
  // copying them out as the start of a body.
  void Consume(std::size_t n);

  // Size of the buffer: the line limit, fixed for the reader's life.
  std::size_t capacity() const { return capacity_; }

  // Total bytes read from streams over the reader's life.
  std::uint64_t bytes_read() const { return bytes_read_; }

  // True between a line_too_long and the end of the offending line.
  bool resyncing() const { return resyncing_; }

 private:
  enum class Parse { kLine, kNeedMore, kTooLong };

  // Drops the bytes of the line (or partial line) returned last.
  void ReleaseReturned();
  // Looks for a complete line in the buffer (skipping the rest of an
  // over-long line first); on kLine, the line is in `line_`.
  Parse ParseBuffered();
  // Free space after the buffered bytes, moving them to the front first.
  boost::asio::mutable_buffer PrepareRead();
  // Accounts for `n` bytes read into PrepareRead()'s space.
  void CommitRead(std::size_t n);
  // Result for a read that failed with `ec` and returned no bytes.
  LineResult ReadFailed(const boost::system::error_code& ec);

  std::size_t capacity_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;    // Start of unconsumed bytes.
  std::size_t end_ = 0;      // End of received bytes.
  std::size_t scanned_ = 0;  // Bytes after begin_ known to contain no LF.
  std::size_t release_ = 0;  // Bytes after begin_ to drop on the next call.
  bool resyncing_ = false;
  std::string_view line_;
  std::uint64_t bytes_read_ = 0;
};

template <typename AsyncReadStream>
boost::asio::awaitable<LineResult> LineReader::ReadLine(AsyncReadStream& stream,
                                                        Deadline& deadline) {
  ReleaseReturned();
  for (;;) {
    switch (ParseBuffered()) {
      case Parse::kLine:
        co_return LineResult{{}, line_};
      case Parse::kTooLong:
        co_return LineResult{make_error_code(Error::line_too_long), {}};
      case Parse::kNeedMore:
        break;
    }
    const boost::asio::mutable_buffer space = PrepareRead();
    const IoResult read = co_await ReadSome(stream, space, deadline);
    CommitRead(read.bytes);
    // Bytes that came with an error are parsed first; the error repeats on
    // the next read if it still matters.
    if (read.error && read.bytes == 0) co_return ReadFailed(read.error);
  }
}

}  // namespace tpslab::net

#endif  // TPSLAB_COMMON_NET_LINE_READER_H_
