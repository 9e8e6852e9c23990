#include "common/net/line_reader.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/net/deadline.h"
#include "common/net/error.h"
#include "common/net/test_util.h"
#include "gtest/gtest.h"

namespace tpslab::net {
namespace {

using boost::asio::awaitable;
using boost::asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using testing::ChunkedStream;
using testing::ConnectedPair;
using testing::RunFor;

// Lines read until the first error, and that error.
struct Transcript {
  std::vector<std::string> lines;
  error_code end;
};

template <typename Stream>
awaitable<Transcript> ReadAll(LineReader& reader, Stream& stream, Deadline& deadline) {
  Transcript transcript;
  for (;;) {
    deadline.ExpiresAfter(5s);
    const LineResult result = co_await reader.ReadLine(stream, deadline);
    if (result.error) {
      transcript.end = result.error;
      co_return transcript;
    }
    transcript.lines.emplace_back(result.line);
  }
}

// One ReadLine, with the line copied out.
struct OwnedLine {
  error_code error;
  std::string line;
};

template <typename Stream>
awaitable<OwnedLine> ReadOne(LineReader& reader, Stream& stream, Deadline& deadline) {
  const LineResult result = co_await reader.ReadLine(stream, deadline);
  co_return OwnedLine{result.error, std::string(result.line)};
}

// Reads everything from an in-memory stream served in `chunk`-byte reads.
Transcript ReadAllFrom(std::string data, std::size_t chunk, std::size_t max_line = 64) {
  boost::asio::io_context context;
  ChunkedStream stream(context.get_executor(), std::move(data), chunk);
  Deadline deadline(context.get_executor(), stream);
  LineReader reader(max_line);
  std::optional<Transcript> transcript = RunFor(context, ReadAll(reader, stream, deadline));
  EXPECT_TRUE(transcript.has_value());
  return transcript.value_or(Transcript{});
}

using Lines = std::vector<std::string>;

TEST(LineReaderTest, AcceptsCrlfAndBareLf) {
  const Transcript t = ReadAllFrom("USER anonymous\r\nPASS secret\nQUIT\r\n", 1024);
  EXPECT_EQ(t.lines, (Lines{"USER anonymous", "PASS secret", "QUIT"}));
  EXPECT_EQ(t.end, boost::asio::error::eof) << t.end.message();
}

TEST(LineReaderTest, KeepsEmptyLinesAndInnerCarriageReturns) {
  const Transcript t = ReadAllFrom("\r\n\na\rb\r\nc\r\r\n", 1024);
  EXPECT_EQ(t.lines, (Lines{"", "", "a\rb", "c\r"}));
  EXPECT_EQ(t.end, boost::asio::error::eof);
}

TEST(LineReaderTest, AssemblesLinesSplitAcrossTinyReads) {
  const std::string data = "RETR some/file.txt\r\nNOOP\r\nSTOR x\n";
  for (std::size_t chunk : {1, 2, 3, 7}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const Transcript t = ReadAllFrom(data, chunk);
    EXPECT_EQ(t.lines, (Lines{"RETR some/file.txt", "NOOP", "STOR x"}));
    EXPECT_EQ(t.end, boost::asio::error::eof);
  }
}

TEST(LineReaderTest, ServesPipelinedLinesFromOneRead) {
  boost::asio::io_context context;
  ChunkedStream stream(context.get_executor(), "USER a\r\nPASS b\r\nSYST\r\n", 1024);
  Deadline deadline(context.get_executor(), stream);
  deadline.ExpiresAfter(5s);
  LineReader reader(64);

  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->line, "USER a");
  EXPECT_EQ(reader.buffered(), "PASS b\r\nSYST\r\n");
  line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->line, "PASS b");
  line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->line, "SYST");
  EXPECT_EQ(stream.reads(), 1);
  EXPECT_EQ(reader.buffered(), "");
}

TEST(LineReaderTest, LineOfExactlyTheLimitIsAccepted) {
  // Limit 16 bytes, terminator included.
  const std::string crlf_line = std::string(14, 'a') + "\r\n";
  const std::string lf_line = std::string(15, 'b') + "\n";
  ASSERT_EQ(crlf_line.size(), 16u);
  ASSERT_EQ(lf_line.size(), 16u);
  for (std::size_t chunk : {1, 5, 1024}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const Transcript t = ReadAllFrom(crlf_line + lf_line + crlf_line, chunk, 16);
    EXPECT_EQ(t.lines, (Lines{std::string(14, 'a'), std::string(15, 'b'), std::string(14, 'a')}));
    EXPECT_EQ(t.end, boost::asio::error::eof);
  }
}

TEST(LineReaderTest, OneByteOverTheLimitIsTooLongAndTheNextLineIsRead) {
  boost::asio::io_context context;
  const std::string too_long = std::string(15, 'c') + "\r\n";  // 17 bytes
  ChunkedStream stream(context.get_executor(), too_long + "NOOP\r\n", 1024);
  Deadline deadline(context.get_executor(), stream);
  deadline.ExpiresAfter(5s);
  LineReader reader(16);

  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->error, Error::line_too_long) << line->error.message();
  EXPECT_TRUE(reader.resyncing());
  line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_FALSE(line->error) << line->error.message();
  EXPECT_EQ(line->line, "NOOP");
  EXPECT_FALSE(reader.resyncing());
}

TEST(LineReaderTest, ResyncsAfterATooLongLineWhateverTheReadSizes) {
  const std::string data =
      "USER a\r\n" + std::string(100, 'x') + "\r\nNOOP\r\n" + std::string(40, 'y') + "\nQUIT\r\n";
  for (std::size_t chunk : {1, 3, 16, 1024}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    boost::asio::io_context context;
    ChunkedStream stream(context.get_executor(), data, chunk);
    Deadline deadline(context.get_executor(), stream);
    LineReader reader(16);
    std::vector<std::string> seen;  // Lines, and "!" for each line_too_long.
    error_code end;
    for (int i = 0; i < 10 && !end; ++i) {
      deadline.ExpiresAfter(5s);
      std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
      ASSERT_TRUE(line.has_value());
      if (line->error == Error::line_too_long) {
        seen.push_back("!");
      } else if (line->error) {
        end = line->error;
      } else {
        seen.push_back(line->line);
      }
    }
    EXPECT_EQ(seen, (Lines{"USER a", "!", "NOOP", "!", "QUIT"}));
    EXPECT_EQ(end, boost::asio::error::eof);
    EXPECT_EQ(reader.capacity(), 16u);
  }
}

TEST(LineReaderTest, EofInTheMiddleOfALineIsAPartialLine) {
  boost::asio::io_context context;
  ChunkedStream stream(context.get_executor(), "NOOP\r\nQUI", 2);
  Deadline deadline(context.get_executor(), stream);
  deadline.ExpiresAfter(5s);
  LineReader reader(64);
  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->line, "NOOP");
  line = RunFor(context, ReadOne(reader, stream, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->error, Error::partial_line) << line->error.message();
  EXPECT_EQ(line->line, "QUI");
  line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->error, boost::asio::error::eof) << line->error.message();
  EXPECT_EQ(line->line, "");
}

TEST(LineReaderTest, EofWhileSkippingATooLongLineIsEof) {
  const Transcript t = ReadAllFrom(std::string(100, 'z'), 7, 16);
  EXPECT_TRUE(t.lines.empty());
  EXPECT_EQ(t.end, Error::line_too_long);
  boost::asio::io_context context;
  ChunkedStream stream(context.get_executor(), std::string(100, 'z'), 7);
  Deadline deadline(context.get_executor(), stream);
  deadline.ExpiresAfter(5s);
  LineReader reader(16);
  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->error, Error::line_too_long);
  line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->error, boost::asio::error::eof) << line->error.message();
}

TEST(LineReaderTest, BytesAfterALineCanBeTakenForABody) {
  boost::asio::io_context context;
  ChunkedStream stream(context.get_executor(),
                       "POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\nBODY\nDATA", 1024);
  Deadline deadline(context.get_executor(), stream);
  deadline.ExpiresAfter(5s);
  LineReader reader(64);
  std::vector<std::string> headers;
  for (;;) {
    std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
    ASSERT_TRUE(line.has_value());
    ASSERT_FALSE(line->error) << line->error.message();
    if (line->line.empty()) break;
    headers.push_back(line->line);
  }
  EXPECT_EQ(headers, (Lines{"POST /x HTTP/1.1", "Content-Length: 9"}));
  // The body is binary: it is taken as is, not parsed into lines.
  EXPECT_EQ(reader.buffered(), "BODY\nDATA");
  reader.Consume(5);
  EXPECT_EQ(reader.buffered(), "DATA");
  reader.Consume(4);
  EXPECT_EQ(reader.buffered(), "");
  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  EXPECT_EQ(line->error, boost::asio::error::eof) << line->error.message();
}

// Forwards reads to a socket and counts the bytes they return: how much the
// reader took out of the kernel, independent of what the reader reports.
class CountingStream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit CountingStream(tcp::socket& socket) : socket_(socket) {}

  executor_type get_executor() { return socket_.get_executor(); }
  tcp::socket& lowest_layer() { return socket_; }
  std::size_t bytes() const { return bytes_; }

  template <typename MutableBufferSequence, typename CompletionToken>
  auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& buffers) {
          socket_.async_read_some(
              buffers, [this, handler = std::move(handler)](error_code ec, std::size_t n) mutable {
                bytes_ += n;
                std::move(handler)(ec, n);
              });
        },
        token, buffers);
  }

 private:
  tcp::socket& socket_;
  std::size_t bytes_ = 0;
};

awaitable<void> WriteAll(tcp::socket& socket, std::string data) {
  co_await boost::asio::async_write(socket, boost::asio::buffer(data),
                                    boost::asio::as_tuple(boost::asio::use_awaitable));
}

TEST(LineReaderTest, TenMegabyteLineIsRefusedWithinTheLimit) {
  constexpr std::size_t kLimit = 4096;
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  boost::asio::co_spawn(context, WriteAll(client, std::string(10 << 20, 'A') + "\r\nNOOP\r\n"),
                        boost::asio::detached);
  CountingStream stream(server);
  Deadline deadline(server.get_executor(), stream);
  LineReader reader(kLimit);

  deadline.ExpiresAfter(10s);
  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, stream, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->error, Error::line_too_long) << line->error.message();
  EXPECT_EQ(reader.capacity(), kLimit);
  EXPECT_LE(stream.bytes(), kLimit) << "read past the limit before refusing the line";
  EXPECT_EQ(reader.bytes_read(), stream.bytes());

  // The rest of the 10 MB goes through the same buffer and is dropped.
  deadline.ExpiresAfter(10s);
  line = RunFor(context, ReadOne(reader, stream, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_FALSE(line->error) << line->error.message();
  EXPECT_EQ(line->line, "NOOP");
  EXPECT_EQ(reader.capacity(), kLimit);
  EXPECT_EQ(stream.bytes(), (10u << 20) + 8);
}

TEST(LineReaderTest, StalledPeerTimesOutAndThePartialLineIsKept) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  LineReader reader(64);

  boost::asio::write(client, boost::asio::buffer("PART", 4));
  deadline.ExpiresAfter(50ms);
  std::optional<OwnedLine> line = RunFor(context, ReadOne(reader, server, deadline));
  ASSERT_TRUE(line.has_value()) << "the deadline did not fire";
  EXPECT_EQ(line->error, Error::timed_out) << line->error.message();

  boost::asio::write(client, boost::asio::buffer("IAL\r\n", 5));
  deadline.ExpiresAfter(5s);
  line = RunFor(context, ReadOne(reader, server, deadline));
  ASSERT_TRUE(line.has_value());
  EXPECT_FALSE(line->error) << line->error.message();
  EXPECT_EQ(line->line, "PARTIAL");
}

TEST(LineReaderTest, ReadsFromATcpSocket) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  boost::asio::write(client, boost::asio::buffer(std::string("USER x\r\nPASS y\r\n")));
  client.shutdown(tcp::socket::shutdown_send);
  Deadline deadline(server.get_executor(), server);
  LineReader reader;
  EXPECT_EQ(reader.capacity(), LineReader::kDefaultMaxLine);
  std::optional<Transcript> t = RunFor(context, ReadAll(reader, server, deadline));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->lines, (Lines{"USER x", "PASS y"}));
  EXPECT_EQ(t->end, boost::asio::error::eof);
}

}  // namespace
}  // namespace tpslab::net
