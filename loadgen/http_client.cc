#include "loadgen/http_client.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cassert>
#include <charconv>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "common/net/deadline.h"
#include "common/net/tcp.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Read buffer of a connection; it grows (for a long head or line) up to
// kMaxHttpHeadBytes.
constexpr size_t kBufferSize = 16 * 1024;
static_assert(kBufferSize <= kMaxHttpHeadBytes);

// `s` equals `lower` ignoring ASCII case; `lower` is lower case letters and
// other token characters, which must match exactly.
bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char got = s[i];
    const char want = lower[i];
    if (got != want && (static_cast<char>(got | 0x20) != want || want < 'a' || want > 'z')) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `f` with each comma-separated token of a header value, trimmed;
// empty tokens are skipped.
template <typename F>
void ForEachToken(std::string_view value, F f) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view token = Trim(value.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// At most 64 bytes of `s`, control bytes shown as '?', for error messages.
std::string Printable(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kHttpPrefix = "HTTP/1.";

// "HTTP/1.x NNN" followed by the end of the line or a space; NNN >= 100.
bool ValidStatusLine(std::string_view line) {
  return line.size() >= 12 && line.starts_with(kHttpPrefix) && IsDigit(line[7]) && line[8] == ' ' &&
         IsDigit(line[9]) && line[9] != '0' && IsDigit(line[10]) && IsDigit(line[11]) &&
         (line.size() == 12 || line[12] == ' ');
}

// The line that starts at `pos` in `data`, without its terminator (CRLF, or
// a bare LF, which RFC 9112 section 2.2 lets a recipient accept); `next` is
// set to the start of the following line. Nullopt when the line has no
// terminator yet.
inline std::optional<std::string_view> LineAt(std::string_view data, size_t pos, size_t* next) {
  const char* const begin = data.data() + pos;
  const char* const lf = static_cast<const char*>(std::memchr(begin, '\n', data.size() - pos));
  if (lf == nullptr) return std::nullopt;
  *next = static_cast<size_t>(lf - data.data()) + 1;
  const char* const end = lf > begin && lf[-1] == '\r' ? lf - 1 : lf;
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

// Applies one header line to `head`. Returns false, with `error` set, when
// the line is malformed.
bool ApplyHeader(std::string_view line, HttpResponseHead* head, bool* transfer_encoding,
                 bool* keep_alive_token, std::string* error) {
  // Only Content-Length, Transfer-Encoding and Connection matter: one look at
  // the first letter skips every other header.
  const char first = static_cast<char>(line.empty() ? 0 : line[0] | 0x20);
  if (first != 'c' && first != 't') return true;
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return true;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsLower(name, "content-length")) {
    uint64_t length = 0;
    auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (value.empty() || e != std::errc() || p != value.data() + value.size()) {
      *error = "malformed Content-Length '" + Printable(value) + "'";
      return false;
    }
    if (head->content_length && *head->content_length != length) {
      *error = "conflicting Content-Length values " + std::to_string(*head->content_length) +
               " and " + std::to_string(length);
      return false;
    }
    head->content_length = length;
  } else if (EqualsLower(name, "connection")) {
    if (EqualsLower(value, "keep-alive")) {
      *keep_alive_token = true;
    } else {
      ForEachToken(value, [&](std::string_view token) {
        if (EqualsLower(token, "close")) head->close = true;
        if (EqualsLower(token, "keep-alive")) *keep_alive_token = true;
      });
    }
  } else if (EqualsLower(name, "transfer-encoding")) {
    *transfer_encoding = true;
    // The last coding decides: chunked must be the final one.
    ForEachToken(value,
                 [&](std::string_view token) { head->chunked = EqualsLower(token, "chunked"); });
  }
  return true;
}

}  // namespace

std::optional<HttpResponseHead> ParseResponseHead(std::string_view data, std::string* error) {
  size_t pos = 0;
  const std::optional<std::string_view> status_line = LineAt(data, 0, &pos);
  if (!status_line) {
    // Not a whole line yet; say at once when it cannot become a status line.
    const size_t n = std::min(data.size(), kHttpPrefix.size());
    if (data.substr(0, n) != kHttpPrefix.substr(0, n)) {
      *error = "malformed status line '" + Printable(data) + "'";
    }
    return std::nullopt;
  }
  if (!ValidStatusLine(*status_line)) {
    *error = "malformed status line '" + Printable(*status_line) + "'";
    return std::nullopt;
  }
  HttpResponseHead head;
  const std::string_view s = *status_line;
  head.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  bool transfer_encoding = false;
  bool keep_alive_token = false;
  // One pass over the header lines, up to the blank line.
  for (;;) {
    size_t next = 0;
    const std::optional<std::string_view> line = LineAt(data, pos, &next);
    if (!line) return std::nullopt;
    pos = next;
    if (line->empty()) break;
    if (!ApplyHeader(*line, &head, &transfer_encoding, &keep_alive_token, error)) {
      return std::nullopt;
    }
  }
  head.head_bytes = pos;
  head.other_transfer_coding = transfer_encoding && !head.chunked;
  // HTTP/1.0 closes unless asked to keep the connection.
  if (s[7] == '0' && !keep_alive_token) head.close = true;
  return head;
}

void HttpResponseParser::Reset(bool head_request) {
  state_ = State::kHead;
  head_request_ = head_request;
  close_ = false;
  head_ = HttpResponseHead();
  left_ = 0;
  consumed_ = 0;
  error_.clear();
}

void HttpResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
}

std::optional<std::string_view> HttpResponseParser::Line(std::string_view data, size_t* length,
                                                         const char* what) {
  std::optional<std::string_view> line = LineAt(data, 0, length);
  if (line) return line;
  if (data.size() >= kMaxHttpHeadBytes) {
    Fail(std::string(what) + " line longer than " + std::to_string(kMaxHttpHeadBytes) + " bytes");
  }
  return std::nullopt;
}

size_t HttpResponseParser::ParseHead(std::string_view data) {
  std::optional<HttpResponseHead> parsed = ParseResponseHead(data, &error_);
  if (!parsed) {
    if (!error_.empty()) {
      state_ = State::kError;
    } else if (data.size() >= kMaxHttpHeadBytes) {
      Fail("response head longer than " + std::to_string(kMaxHttpHeadBytes) + " bytes");
    }
    return 0;
  }
  const HttpResponseHead& h = *parsed;
  if (h.status < 200 && h.status != 101) return h.head_bytes;  // Interim: the final one follows.
  head_ = h;
  close_ = h.close;
  if (head_request_ || h.status < 200 || h.status == 204 || h.status == 304) {
    // 101: the connection now speaks another protocol.
    if (h.status == 101) close_ = true;
    state_ = State::kDone;
  } else if (h.chunked) {
    // With Content-Length as well, the framing is suspect (RFC 9112 6.3):
    // chunked wins and the connection is not reused.
    if (h.content_length) close_ = true;
    state_ = State::kChunkSize;
  } else if (h.other_transfer_coding || !h.content_length) {
    state_ = State::kUntilEof;
    close_ = true;
  } else {
    left_ = *h.content_length;
    state_ = left_ > 0 ? State::kBody : State::kDone;
  }
  return h.head_bytes;
}

size_t HttpResponseParser::Parse(std::string_view data) {
  size_t used = 0;
  while (state_ != State::kDone && state_ != State::kError && used < data.size()) {
    const std::string_view rest = data.substr(used);
    size_t n = 0;
    switch (state_) {
      case State::kHead:
        n = ParseHead(rest);
        break;
      case State::kBody:
      case State::kChunkData:
        n = static_cast<size_t>(std::min<uint64_t>(left_, rest.size()));
        left_ -= n;
        if (left_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
        break;
      case State::kChunkSize: {
        size_t length = 0;
        const std::optional<std::string_view> line = Line(rest, &length, "chunk-size");
        if (!line) break;
        uint64_t size = 0;
        const char* const first = line->data();
        const char* const last = first + line->size();
        auto [p, e] = std::from_chars(first, last, size, 16);
        // Extensions (";name=value"), possibly after blanks, are ignored.
        if (e != std::errc() || p == first || (p != last && *p != ';' && *p != ' ' && *p != '\t')) {
          Fail("malformed chunk size '" + Printable(*line) + "'");
          break;
        }
        n = length;
        left_ = size;
        state_ = size > 0 ? State::kChunkData : State::kTrailer;
        break;
      }
      case State::kChunkDataEnd:
        // CRLF (or a bare LF).
        if (rest[0] == '\n') {
          n = 1;
        } else if (rest[0] != '\r' || (rest.size() > 1 && rest[1] != '\n')) {
          Fail("malformed chunked body: no CRLF after chunk data");
          break;
        } else if (rest.size() >= 2) {
          n = 2;
        } else {
          break;  // "\r" alone: wait for the LF.
        }
        state_ = State::kChunkSize;
        break;
      case State::kTrailer: {
        size_t length = 0;
        const std::optional<std::string_view> line = Line(rest, &length, "trailer");
        if (!line) break;
        n = length;
        if (line->empty()) state_ = State::kDone;
        break;
      }
      case State::kUntilEof:
        n = rest.size();
        break;
      case State::kDone:
      case State::kError:
        break;
    }
    if (n == 0) break;
    used += n;
  }
  consumed_ += used;
  return used;
}

bool HttpResponseParser::Finish() {
  if (state_ != State::kUntilEof) return false;
  state_ = State::kDone;
  return true;
}

struct HttpClient::Connection {
  explicit Connection(tcp::socket s)
      : socket(std::move(s)), deadline(socket.get_executor(), socket), buffer(kBufferSize) {}

  std::string_view buffered() const { return std::string_view(buffer.data() + begin, end - begin); }
  void Consume(size_t n) {
    begin += n;
    if (begin == end) begin = end = 0;
  }
  // Makes room after the buffered bytes for a read: moves them to the front,
  // and grows the buffer when they fill it.
  void MakeRoom() {
    if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == buffer.size()) buffer.resize(std::min(buffer.size() * 2, kMaxHttpHeadBytes));
    // The parser fails on a head or line of kMaxHttpHeadBytes, so a full
    // buffer of that size never needs more room.
    assert(end < buffer.size());
  }

  tcp::socket socket;
  // HTTPS: every byte goes through it.
  std::optional<TlsStream> tls;
  net::Deadline deadline;
  std::vector<char> buffer;
  size_t begin = 0;
  size_t end = 0;
  uint64_t requests = 0;
};

HttpClient::HttpClient(asio::any_io_executor executor, HttpEndpoint endpoint)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)) {}

HttpClient::~HttpClient() = default;

void HttpClient::Close() { connection_.reset(); }

std::string HttpClient::BuildRequest(std::string_view method, std::string_view path,
                                     std::string_view host_header,
                                     const std::map<std::string, std::string>& headers,
                                     std::string_view body, bool keep_alive) {
  std::string out;
  out.reserve(128 + body.size());
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& [name, value] : headers) has_host = has_host || EqualsLower(name, "host");
  if (!has_host) out.append("Host: ").append(host_header).append("\r\n");
  for (const auto& [name, value] : headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n").append(body);
  return out;
}

asio::awaitable<StepResult> HttpClient::Connect() {
  const std::string what = "connect " + net::FormatHostPort(endpoint_.host, endpoint_.port);
  net::SocketResult s =
      co_await net::Connect(endpoint_.host, endpoint_.port, {}, endpoint_.timeout);
  if (s.error) co_return StepResult::FromError(s.error, what);
  auto connection = std::make_unique<Connection>(std::move(s.socket));
  if (endpoint_.tls) {
    connection->tls.emplace(connection->socket, *endpoint_.tls->context);
    StepResult r = co_await TlsHandshake(*connection->tls, *endpoint_.tls, connection->deadline,
                                         endpoint_.timeout, nullptr, what);
    if (!r.ok()) co_return r;
  } else {
    // Requests are first sent with a plain send() that must not block.
    boost::system::error_code ec;
    connection->socket.non_blocking(true, ec);
    if (ec) co_return StepResult::FromError(ec, what);
  }
  connection_ = std::move(connection);
  ++connections_opened_;
  co_return StepResult();
}

namespace {

// What a read in `state` was for, for error messages.
const char* ReadWhat(HttpResponseParser::State state) {
  switch (state) {
    case HttpResponseParser::State::kHead:
      return "read response";
    case HttpResponseParser::State::kChunkSize:
    case HttpResponseParser::State::kChunkData:
    case HttpResponseParser::State::kChunkDataEnd:
      return "read chunk";
    case HttpResponseParser::State::kTrailer:
      return "read trailer";
    default:
      return "read body";
  }
}

}  // namespace

asio::awaitable<StepResult> HttpClient::Send(std::string_view request, bool head, int expect_status,
                                             Clock::time_point now) {
  for (int attempt = 0;; ++attempt) {
    if (!connection_) {
      StepResult r = co_await Connect();
      if (!r.ok()) co_return r;
      now = Clock::now();
    }
    Connection& c = *connection_;
    // A kept-alive connection the server closed meanwhile fails before any
    // of the response arrives; that is not an error: reconnect once.
    const bool may_retry = c.requests++ > 0 && attempt == 0;
    StepResult result;

    // Write: on a plain connection, a non-blocking send() takes the whole
    // request unless the socket buffer is full; the rest goes asynchronously.
    boost::system::error_code ec;
    size_t written = 0;
    if (!c.tls) {
      written = c.socket.send(asio::buffer(request.data(), request.size()), 0, ec);
      if (ec && (ec == asio::error::would_block || ec == asio::error::try_again)) ec.clear();
    }
    if (!ec && written < request.size()) {
      c.deadline.ExpiresAt(now + endpoint_.timeout);
      const asio::const_buffer rest =
          asio::buffer(request.data() + written, request.size() - written);
      net::IoResult w;
      if (c.tls) {
        w = co_await net::Write(*c.tls, rest, c.deadline);
      } else {
        w = co_await net::Write(c.socket, rest, c.deadline);
      }
      written += w.bytes;
      ec = w.error;
    }
    result.bytes_sent = written;
    if (ec) {
      Close();
      if (may_retry && ec != net::Error::timed_out) continue;
      StepResult r = StepResult::FromError(ec, "send request");
      r.bytes_sent = written;
      co_return r;
    }

    // Read until the parser has the whole response.
    parser_.Reset(head);
    bool first_read = true;
    bool retry = false;
    for (;;) {
      if (c.end > c.begin) {
        c.Consume(parser_.Parse(c.buffered()));
        if (parser_.done() || parser_.failed()) break;
      }
      c.MakeRoom();
      // The deadline of this read; moving it does not touch the timer.
      c.deadline.ExpiresAt((first_read ? now : Clock::now()) + endpoint_.timeout);
      first_read = false;
      const asio::mutable_buffer space =
          asio::buffer(c.buffer.data() + c.end, c.buffer.size() - c.end);
      size_t n = 0;
      // Awaiting a deferred operation needs no coroutine frame of its own.
      if (c.tls) {
        std::tie(ec, n) = co_await c.tls->async_read_some(space, asio::as_tuple(asio::deferred));
      } else {
        std::tie(ec, n) = co_await c.socket.async_read_some(space, asio::as_tuple(asio::deferred));
      }
      c.end += n;
      if (!ec || n > 0) continue;
      ec = c.deadline.MapError(ec);
      // A body delimited by the end of the connection; servers often end it
      // over TLS without close_notify.
      if ((ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) &&
          parser_.Finish()) {
        break;
      }
      const bool nothing_received = parser_.consumed() == 0 && c.end == c.begin;
      Close();  // `c` is gone from here on.
      if (may_retry && nothing_received && ec != net::Error::timed_out) {
        retry = true;
        break;
      }
      StepResult r = StepResult::FromError(ec, ReadWhat(parser_.state()));
      r.bytes_sent = written;
      r.bytes_received = parser_.consumed();
      co_return r;
    }
    if (retry) continue;
    result.bytes_received = parser_.consumed();
    if (parser_.failed()) {
      Close();
      StepResult r = StepResult::Fail(v1::ERROR_CLASS_UNEXPECTED_REPLY, parser_.error());
      r.bytes_sent = written;
      r.bytes_received = parser_.consumed();
      co_return r;
    }
    const int status = parser_.head().status;
    last_status_ = status;
    if (!parser_.keep_alive()) Close();
    const bool status_ok = expect_status != 0 ? status == expect_status : status / 100 == 2;
    if (!status_ok) {
      result.error = v1::ERROR_CLASS_UNEXPECTED_REPLY;
      result.message = "expected status " +
                       (expect_status != 0 ? std::to_string(expect_status) : std::string("2xx")) +
                       ", got " + std::to_string(status);
    }
    co_return result;
  }
}

}  // namespace tpslab::loadgen
