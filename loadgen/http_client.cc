#include "loadgen/http_client.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <charconv>
#include <cstring>
#include <utility>

#include "common/net/deadline.h"
#include "common/net/tcp.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr size_t kBufferSize = 16 * 1024;
constexpr size_t kMaxHead = 64 * 1024;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IContains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<HttpResponseHead> ParseResponseHead(std::string_view data, std::string* error) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  HttpResponseHead head;
  head.head_bytes = end + 4;
  std::string_view rest = data.substr(0, end + 2);
  size_t eol = rest.find("\r\n");
  const std::string_view status_line = rest.substr(0, eol);
  rest.remove_prefix(eol + 2);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
    *error = "malformed status line '" + std::string(status_line.substr(0, 64)) + "'";
    return std::nullopt;
  }
  const bool http10 = status_line[7] == '0';
  auto [ptr, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, head.status);
  if (ec != std::errc() || ptr != status_line.data() + 12 || head.status < 100) {
    *error = "malformed status line '" + std::string(status_line.substr(0, 64)) + "'";
    return std::nullopt;
  }
  bool keep_alive_header = false;
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      uint64_t length = 0;
      auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (e != std::errc() || p != value.data() + value.size()) {
        *error = "malformed Content-Length '" + std::string(value) + "'";
        return std::nullopt;
      }
      head.content_length = length;
    } else if (IEquals(name, "transfer-encoding")) {
      head.chunked = IContains(value, "chunked");
    } else if (IEquals(name, "connection")) {
      if (IContains(value, "close")) head.close = true;
      if (IContains(value, "keep-alive")) keep_alive_header = true;
    }
  }
  if (http10 && !keep_alive_header) head.close = true;
  return head;
}

struct HttpClient::Connection {
  explicit Connection(tcp::socket s)
      : socket(std::move(s)), deadline(socket.get_executor(), socket), buffer(kBufferSize) {}

  std::string_view buffered() const { return std::string_view(buffer.data() + begin, end - begin); }
  void Consume(size_t n) {
    begin += n;
    if (begin == end) begin = end = 0;
  }
  // Writes all of `request`.
  asio::awaitable<net::IoResult> Write(std::string_view request, std::chrono::nanoseconds timeout) {
    deadline.ExpiresAfter(timeout);
    const asio::const_buffer b = asio::buffer(request.data(), request.size());
    if (tls) co_return co_await net::Write(*tls, b, deadline);
    co_return co_await net::Write(socket, b, deadline);
  }
  // Reads more bytes after the buffered ones.
  asio::awaitable<net::IoResult> Fill(std::chrono::nanoseconds timeout) {
    if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == buffer.size()) {
      if (buffer.size() >= kMaxHead)
        co_return net::IoResult{make_error_code(asio::error::message_size), 0};
      buffer.resize(buffer.size() * 2);
    }
    deadline.ExpiresAfter(timeout);
    const asio::mutable_buffer b = asio::buffer(buffer.data() + end, buffer.size() - end);
    net::IoResult r = tls ? co_await net::ReadSome(*tls, b, deadline)
                          : co_await net::ReadSome(socket, b, deadline);
    end += r.bytes;
    received += r.bytes;
    co_return r;
  }

  tcp::socket socket;
  // HTTPS: every byte goes through it.
  std::optional<TlsStream> tls;
  net::Deadline deadline;
  std::vector<char> buffer;
  size_t begin = 0;
  size_t end = 0;
  uint64_t received = 0;
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
  for (const auto& [name, value] : headers) has_host = has_host || IEquals(name, "host");
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

asio::awaitable<StepResult> HttpClient::Send(std::string_view request, bool head,
                                             int expect_status) {
  bool retryable = false;
  StepResult r = co_await Exchange(request, head, expect_status, &retryable);
  if (retryable) {
    // The server closed an idle kept-alive connection; that is not an error.
    r = co_await Exchange(request, head, expect_status, &retryable);
  }
  co_return r;
}

asio::awaitable<StepResult> HttpClient::Exchange(std::string_view request, bool head,
                                                 int expect_status, bool* retryable) {
  *retryable = false;
  if (!connection_) {
    net::SocketResult s =
        co_await net::Connect(endpoint_.host, endpoint_.port, {}, endpoint_.timeout);
    if (s.error) {
      co_return StepResult::FromError(
          s.error, "connect " + net::FormatHostPort(endpoint_.host, endpoint_.port));
    }
    connection_ = std::make_unique<Connection>(std::move(s.socket));
    if (endpoint_.tls) {
      connection_->tls.emplace(connection_->socket, *endpoint_.tls->context);
      StepResult r = co_await TlsHandshake(
          *connection_->tls, *endpoint_.tls, connection_->deadline, endpoint_.timeout, nullptr,
          "connect " + net::FormatHostPort(endpoint_.host, endpoint_.port));
      if (!r.ok()) {
        Close();
        co_return r;
      }
    }
  }
  Connection& c = *connection_;
  const bool reused = c.requests++ > 0;
  net::IoResult w = co_await c.Write(request, endpoint_.timeout);
  if (w.error) {
    Close();
    *retryable = reused && w.error != net::Error::timed_out;
    co_return StepResult::FromError(w.error, "send request");
  }
  StepResult result;
  result.bytes_sent = w.bytes;
  const uint64_t received_before = c.received - c.buffered().size();

  // Head.
  std::optional<HttpResponseHead> parsed;
  for (;;) {
    std::string error;
    parsed = ParseResponseHead(c.buffered(), &error);
    if (parsed) break;
    if (!error.empty()) {
      Close();
      co_return StepResult::Fail(v1::ERROR_CLASS_UNEXPECTED_REPLY, error);
    }
    net::IoResult r = co_await c.Fill(endpoint_.timeout);
    if (r.error && r.bytes == 0) {
      const bool nothing = c.end == c.begin;
      Close();
      *retryable = reused && nothing && r.error != net::Error::timed_out;
      co_return StepResult::FromError(r.error, "read response");
    }
  }
  const HttpResponseHead h = *parsed;
  last_status_ = h.status;
  c.Consume(h.head_bytes);

  // Body.
  const bool no_body = head || h.status / 100 == 1 || h.status == 204 || h.status == 304;
  bool close = h.close;
  if (no_body) {
  } else if (h.chunked) {
    for (;;) {
      size_t eol;
      while ((eol = c.buffered().find("\r\n")) == std::string_view::npos) {
        net::IoResult r = co_await c.Fill(endpoint_.timeout);
        if (r.error && r.bytes == 0) {
          Close();
          co_return StepResult::FromError(r.error, "read chunk size");
        }
      }
      uint64_t size = 0;
      const std::string_view line = c.buffered().substr(0, eol);
      auto [p, e] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (e != std::errc() || p == line.data()) {
        Close();
        co_return StepResult::Fail(
            v1::ERROR_CLASS_UNEXPECTED_REPLY,
            "malformed chunk size '" + std::string(line.substr(0, 32)) + "'");
      }
      c.Consume(eol + 2);
      if (size == 0) {
        // Trailers up to the blank line.
        for (;;) {
          while ((eol = c.buffered().find("\r\n")) == std::string_view::npos) {
            net::IoResult r = co_await c.Fill(endpoint_.timeout);
            if (r.error && r.bytes == 0) {
              Close();
              co_return StepResult::FromError(r.error, "read trailer");
            }
          }
          c.Consume(eol + 2);
          if (eol == 0) break;
        }
        break;
      }
      uint64_t left = size + 2;  // Data and its CRLF.
      while (left > 0) {
        if (c.buffered().empty()) {
          net::IoResult r = co_await c.Fill(endpoint_.timeout);
          if (r.error && r.bytes == 0) {
            Close();
            co_return StepResult::FromError(r.error, "read chunk");
          }
        }
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left, c.buffered().size()));
        c.Consume(n);
        left -= n;
      }
    }
  } else if (h.content_length) {
    uint64_t left = *h.content_length;
    while (left > 0) {
      if (c.buffered().empty()) {
        net::IoResult r = co_await c.Fill(endpoint_.timeout);
        if (r.error && r.bytes == 0) {
          Close();
          co_return StepResult::FromError(r.error, "read body");
        }
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, c.buffered().size()));
      c.Consume(n);
      left -= n;
    }
  } else {
    // Delimited by the end of the connection.
    for (;;) {
      c.Consume(c.buffered().size());
      net::IoResult r = co_await c.Fill(endpoint_.timeout);
      // Servers often end such a body over TLS without close_notify.
      if (r.error == asio::error::eof || r.error == asio::ssl::error::stream_truncated) break;
      if (r.error && r.bytes == 0) {
        Close();
        co_return StepResult::FromError(r.error, "read body");
      }
    }
    close = true;
  }
  result.bytes_received = c.received - c.buffered().size() - received_before;
  if (close) Close();
  const bool status_ok = expect_status != 0 ? h.status == expect_status : h.status / 100 == 2;
  if (!status_ok) {
    result.error = v1::ERROR_CLASS_UNEXPECTED_REPLY;
    result.message = "expected status " +
                     (expect_status != 0 ? std::to_string(expect_status) : std::string("2xx")) +
                     ", got " + std::to_string(h.status);
  }
  co_return result;
}

}  // namespace tpslab::loadgen
