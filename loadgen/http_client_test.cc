#include "loadgen/http_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/net/test_util.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(HttpClientTest, ParsesHead) {
  std::string error;
  std::optional<HttpResponseHead> h = ParseResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nbody", &error);
  ASSERT_TRUE(h.has_value()) << error;
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->content_length, 12u);
  EXPECT_FALSE(h->chunked);
  EXPECT_FALSE(h->close);
  EXPECT_EQ(h->head_bytes, 63u);

  h = ParseResponseHead("HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n", &error);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->status, 404);
  EXPECT_TRUE(h->chunked);

  h = ParseResponseHead("HTTP/1.0 200 OK\r\n\r\n", &error);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->close);

  // No reason phrase; header names and tokens in any case.
  h = ParseResponseHead("HTTP/1.1 200\r\nCONTENT-LENGTH:7\r\nConnection: Upgrade, CLOSE\r\n\r\n",
                        &error);
  ASSERT_TRUE(h.has_value()) << error;
  EXPECT_EQ(h->content_length, 7u);
  EXPECT_TRUE(h->close);

  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-", &error).has_value());
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(ParseResponseHead("HTT", &error).has_value());
  EXPECT_TRUE(error.empty());
}

TEST(HttpClientTest, RejectsMalformedHead) {
  std::string error;
  EXPECT_FALSE(ParseResponseHead("SMTP 220 hello\r\n\r\n", &error).has_value());
  EXPECT_EQ(error, "malformed status line 'SMTP 220 hello'");
  error.clear();
  // Known to be wrong before the line ends.
  EXPECT_FALSE(ParseResponseHead("SSH-2.0", &error).has_value());
  EXPECT_EQ(error, "malformed status line 'SSH-2.0'");
  for (const char* line : {"HTTP/1.1 2000 OK", "HTTP/1.1 099 Low", "HTTP/2 200 OK", "HTTP/1.1 20",
                           "HTTP/1.1 2x0 OK"}) {
    error.clear();
    EXPECT_FALSE(ParseResponseHead(std::string(line) + "\r\n\r\n", &error).has_value()) << line;
    EXPECT_EQ(error, "malformed status line '" + std::string(line) + "'");
  }
  error.clear();
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", &error));
  EXPECT_EQ(error, "malformed Content-Length 'x'");
  error.clear();
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &error));
  EXPECT_EQ(error, "malformed Content-Length '-1'");
  error.clear();
  EXPECT_FALSE(ParseResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &error));
  EXPECT_EQ(error, "conflicting Content-Length values 1 and 2");
}

TEST(HttpClientTest, BuildsRequest) {
  EXPECT_EQ(HttpClient::BuildRequest("GET", "/a", "h:80", {}, "", true),
            "GET /a HTTP/1.1\r\nHost: h:80\r\n\r\n");
  EXPECT_EQ(HttpClient::BuildRequest("POST", "/p", "h:80", {{"X-A", "1"}}, "hi", false),
            "POST /p HTTP/1.1\r\nHost: h:80\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: "
            "close\r\n\r\nhi");
  EXPECT_EQ(HttpClient::BuildRequest("GET", "/", "h:80", {{"HOST", "other"}}, "", true),
            "GET / HTTP/1.1\r\nHOST: other\r\n\r\n");
}

// What a parser made of a response fed to it.
struct Fed {
  HttpResponseParser::State state;
  std::string error;
  HttpResponseHead head;
  bool keep_alive = false;
  uint64_t consumed = 0;
  // Bytes not consumed (fed but left over, or never fed).
  size_t left = 0;
};

// Feeds `response` to a parser in pieces of at most `piece` bytes, as the
// client does: unconsumed bytes are passed again with the next piece. With
// `eof`, the connection ends after the last byte.
Fed Feed(std::string_view response, bool head_request, size_t piece, bool eof = false) {
  HttpResponseParser parser;
  parser.Reset(head_request);
  std::string pending;
  size_t fed = 0;
  while (!parser.done() && !parser.failed() && fed < response.size()) {
    const size_t n = std::min(piece, response.size() - fed);
    pending.append(response.substr(fed, n));
    fed += n;
    pending.erase(0, parser.Parse(pending));
  }
  if (eof && fed == response.size()) parser.Finish();
  return Fed{parser.state(),      parser.error(),    parser.head(),
             parser.keep_alive(), parser.consumed(), pending.size() + (response.size() - fed)};
}

Fed FeedAll(std::string_view response, bool head_request = false, bool eof = false) {
  return Feed(response, head_request, response.size() + 1, eof);
}

using State = HttpResponseParser::State;

TEST(HttpResponseParserTest, ContentLengthBodyLeavesWhatFollows) {
  const Fed f = FeedAll("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1");
  EXPECT_EQ(f.state, State::kDone);
  EXPECT_EQ(f.head.status, 200);
  EXPECT_TRUE(f.keep_alive);
  EXPECT_EQ(f.consumed, 43u);
  EXPECT_EQ(f.left, 8u);

  const Fed empty = FeedAll("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(empty.state, State::kDone);
  EXPECT_TRUE(empty.keep_alive);

  const Fed partial = FeedAll("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
  EXPECT_EQ(partial.state, State::kBody);
  EXPECT_EQ(partial.left, 0u);
}

TEST(HttpResponseParserTest, ChunkedBodyWithExtensionsAndTrailers) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\nA ; x\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
  const Fed f = FeedAll(response + "next");
  EXPECT_EQ(f.state, State::kDone) << f.error;
  EXPECT_TRUE(f.keep_alive);
  EXPECT_EQ(f.consumed, response.size());
  EXPECT_EQ(f.left, 4u);

  const Fed no_trailer =
      FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
  EXPECT_EQ(no_trailer.state, State::kDone) << no_trailer.error;
  EXPECT_TRUE(no_trailer.head.chunked);
}

TEST(HttpResponseParserTest, KeepAliveAndClose) {
  EXPECT_TRUE(FeedAll("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(
      FeedAll("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(FeedAll("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_TRUE(
      FeedAll("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST(HttpResponseParserTest, NoBodyAfterHeadAnd204And304) {
  const std::string head_response = "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n";
  const Fed head = FeedAll(head_response + "HTTP/1.1", /*head_request=*/true);
  EXPECT_EQ(head.state, State::kDone);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.consumed, head_response.size());
  EXPECT_EQ(head.head.content_length, 1024u);

  const Fed no_content = FeedAll("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(no_content.state, State::kDone);
  EXPECT_TRUE(no_content.keep_alive);

  const Fed not_modified = FeedAll("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
  EXPECT_EQ(not_modified.state, State::kDone);
  EXPECT_EQ(not_modified.head.status, 304);
  EXPECT_TRUE(not_modified.keep_alive);
}

TEST(HttpResponseParserTest, SkipsInterimResponses) {
  const std::string response =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  const Fed f = FeedAll(response);
  EXPECT_EQ(f.state, State::kDone);
  EXPECT_EQ(f.head.status, 201);
  EXPECT_EQ(f.consumed, response.size());

  // 101 is final: the connection now speaks another protocol.
  const Fed upgrade = FeedAll("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n");
  EXPECT_EQ(upgrade.state, State::kDone);
  EXPECT_FALSE(upgrade.keep_alive);
}

TEST(HttpResponseParserTest, BodyUntilTheConnectionEnds) {
  const std::string response = "HTTP/1.1 200 OK\r\n\r\nuntil-eof";
  const Fed open = FeedAll(response);
  EXPECT_EQ(open.state, State::kUntilEof);
  EXPECT_EQ(open.left, 0u);
  const Fed closed = FeedAll(response, false, /*eof=*/true);
  EXPECT_EQ(closed.state, State::kDone);
  EXPECT_FALSE(closed.keep_alive);
  EXPECT_EQ(closed.consumed, response.size());

  // A coding other than chunked last: the end of the connection delimits.
  EXPECT_EQ(
      FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz", false, true).state,
      State::kDone);
  EXPECT_EQ(FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz").state,
            State::kUntilEof);

  // EOF in the middle of a framed body is not an end.
  HttpResponseParser parser;
  parser.Reset(false);
  parser.Parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
  EXPECT_FALSE(parser.Finish());
  EXPECT_EQ(parser.state(), State::kBody);
}

TEST(HttpResponseParserTest, ChunkedWinsOverContentLengthButClosesTheConnection) {
  const Fed f = FeedAll(
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nok\r\n0\r\n\r\n");
  EXPECT_EQ(f.state, State::kDone);
  EXPECT_FALSE(f.keep_alive);
  EXPECT_EQ(f.left, 0u);
}

TEST(HttpResponseParserTest, AcceptsBareLineFeeds) {
  const std::string response = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\nHTTP";
  const Fed f = FeedAll(response);
  EXPECT_EQ(f.state, State::kDone) << f.error;
  EXPECT_EQ(f.left, 4u);
}

TEST(HttpResponseParserTest, SameResultAtEverySplit) {
  const std::vector<std::pair<std::string, bool>> responses = {
      {"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 10\r\n\r\n0123456789", false},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "4;a=b\r\nwxyz\r\n11\r\n0123456789abcdefg\r\n0\r\nT: 1\r\nU: 2\r\n\r\n",
       false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n", true},
      {"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", false},
  };
  for (const auto& [response, head_request] : responses) {
    const Fed whole = FeedAll(response, head_request);
    ASSERT_EQ(whole.state, State::kDone) << response << whole.error;
    ASSERT_EQ(whole.consumed, response.size());
    // One byte at a time.
    const Fed bytes = Feed(response, head_request, 1);
    EXPECT_EQ(bytes.state, State::kDone) << response;
    EXPECT_EQ(bytes.consumed, response.size());
    EXPECT_EQ(bytes.keep_alive, whole.keep_alive);
    // Two pieces, split everywhere.
    for (size_t split = 1; split < response.size(); ++split) {
      HttpResponseParser parser;
      parser.Reset(head_request);
      std::string pending = response.substr(0, split);
      pending.erase(0, parser.Parse(pending));
      ASSERT_FALSE(parser.done()) << "done early at split " << split << ": " << response;
      pending += response.substr(split);
      pending.erase(0, parser.Parse(pending));
      EXPECT_TRUE(parser.done()) << "split " << split << ": " << response;
      EXPECT_TRUE(pending.empty()) << "split " << split << ": " << response;
      EXPECT_EQ(parser.head().status, whole.head.status);
      EXPECT_EQ(parser.keep_alive(), whole.keep_alive);
    }
  }
}

TEST(HttpResponseParserTest, RejectsMalformedFraming) {
  Fed f = FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(f.state, State::kError);
  EXPECT_EQ(f.error, "malformed chunk size 'zz'");

  f = FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\n");
  EXPECT_EQ(f.error, "malformed chunk size '1x'");

  f = FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n");
  EXPECT_EQ(f.error, "malformed chunk size 'ffffffffffffffffff'");

  f = FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n");
  EXPECT_EQ(f.state, State::kError);
  EXPECT_EQ(f.error, "malformed chunked body: no CRLF after chunk data");

  f = Feed("SMTP 220 hello\r\n", false, 2);
  EXPECT_EQ(f.state, State::kError);
  EXPECT_EQ(f.error, "malformed status line 'SM'");  // Known from the first piece on.

  f = FeedAll("HTTP/1.1 200 OK\r\nX: " + std::string(kMaxHttpHeadBytes, 'a'));
  EXPECT_EQ(f.state, State::kError);
  EXPECT_EQ(f.error, "response head longer than 65536 bytes");

  f = FeedAll("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
              std::string(kMaxHttpHeadBytes, '1'));
  EXPECT_EQ(f.state, State::kError);
  EXPECT_EQ(f.error, "chunk-size line longer than 65536 bytes");
}

// Serves connections one after the other: connection i answers each request
// (read up to its blank line) with connections[i][j], written in pieces of
// `piece` bytes with a short pause between them (0: at once), then closes
// it, or with `hold_open` waits for the client to close it.
asio::awaitable<void> Serve(tcp::acceptor& acceptor,
                            std::vector<std::vector<std::string>> connections, size_t piece = 0,
                            bool hold_open = false) {
  for (const std::vector<std::string>& responses : connections) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::streambuf buffer;
    for (const std::string& response : responses) {
      const size_t n =
          co_await asio::async_read_until(socket, buffer, "\r\n\r\n", asio::use_awaitable);
      buffer.consume(n);
      if (piece == 0) {
        co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
        continue;
      }
      asio::steady_timer pause(socket.get_executor());
      for (size_t i = 0; i < response.size(); i += piece) {
        const size_t n = std::min(piece, response.size() - i);
        co_await asio::async_write(socket, asio::buffer(response.data() + i, n),
                                   asio::use_awaitable);
        pause.expires_after(std::chrono::microseconds(200));
        co_await pause.async_wait(asio::use_awaitable);
      }
    }
    if (hold_open) {
      char byte;
      co_await socket.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
    }
  }
}

struct ClientRun {
  std::vector<StepResult> results;
  uint64_t connections_opened = 0;
  bool connected = false;
};

// Sends one request per entry of `head_requests` (true: HEAD) on one client.
asio::awaitable<ClientRun> Client(uint16_t port, std::vector<bool> head_requests,
                                  std::chrono::nanoseconds timeout = std::chrono::seconds(10)) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  HttpEndpoint endpoint;
  endpoint.port = port;
  endpoint.timeout = timeout;
  HttpClient client(executor, endpoint);
  const std::string get = HttpClient::BuildRequest("GET", "/", "x", {}, "", true);
  const std::string head = HttpClient::BuildRequest("HEAD", "/", "x", {}, "", true);
  ClientRun run;
  for (const bool is_head : head_requests) {
    run.results.push_back(co_await client.Send(is_head ? head : get, is_head, 0));
  }
  run.connections_opened = client.connections_opened();
  run.connected = client.connected();
  co_return run;
}

asio::awaitable<ClientRun> Client(uint16_t port, int requests) {
  co_return co_await Client(port, std::vector<bool>(static_cast<size_t>(requests), false));
}

TEST(HttpClientTest, ReadsLengthChunkedAndCheckedStatusOnOneConnection) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::co_spawn(
      context,
      Serve(acceptor, {{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n",
                        "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
                        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof"}}),
      asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 4));
  ASSERT_TRUE(run.has_value());
  const std::vector<StepResult>& results = run->results;
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].ok()) << results[0].message;
  EXPECT_EQ(results[0].bytes_received, 43u);
  EXPECT_EQ(results[0].bytes_sent, 27u);
  EXPECT_TRUE(results[1].ok()) << results[1].message;
  EXPECT_EQ(results[2].error, v1::ERROR_CLASS_UNEXPECTED_REPLY);
  EXPECT_EQ(results[2].message, "expected status 2xx, got 503");
  EXPECT_TRUE(results[3].ok()) << results[3].message;
  EXPECT_EQ(results[3].bytes_received, 47u);
  EXPECT_EQ(run->connections_opened, 1u);
  EXPECT_FALSE(run->connected);
}

TEST(HttpClientTest, KeepsTheConnectionUntilTheServerSaysClose) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::co_spawn(context,
                 Serve(acceptor, {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                                   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n"
                                   "\r\nb"},
                                  {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"}}),
                 asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 3));
  ASSERT_TRUE(run.has_value());
  for (const StepResult& r : run->results) EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(run->connections_opened, 2u);
  EXPECT_TRUE(run->connected);
}

TEST(HttpClientTest, HeadAnd204ResponsesHaveNoBody) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::co_spawn(context,
                 Serve(acceptor, {{"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n",
                                   "HTTP/1.1 204 No Content\r\n\r\n",
                                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}}),
                 asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), {true, false, false}));
  ASSERT_TRUE(run.has_value());
  ASSERT_EQ(run->results.size(), 3u);
  for (const StepResult& r : run->results) EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(run->results[2].bytes_received, 40u);
  EXPECT_EQ(run->connections_opened, 1u);
}

TEST(HttpClientTest, ReadsAResponseSplitAcrossManyReads) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nServer: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
  const std::string length = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world";
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::co_spawn(context, Serve(acceptor, {{chunked, length}}, /*piece=*/3), asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 2));
  ASSERT_TRUE(run.has_value());
  ASSERT_EQ(run->results.size(), 2u);
  EXPECT_TRUE(run->results[0].ok()) << run->results[0].message;
  EXPECT_EQ(run->results[0].bytes_received, chunked.size());
  EXPECT_TRUE(run->results[1].ok()) << run->results[1].message;
  EXPECT_EQ(run->results[1].bytes_received, length.size());
  EXPECT_EQ(run->connections_opened, 1u);
}

TEST(HttpClientTest, ReopensAKeptAliveConnectionTheServerClosed) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  // The first connection closes after one response although it said nothing.
  asio::co_spawn(context,
                 Serve(acceptor, {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"},
                                  {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"}}),
                 asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 2));
  ASSERT_TRUE(run.has_value());
  for (const StepResult& r : run->results) EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(run->connections_opened, 2u);
}

TEST(HttpClientTest, MalformedStatusLineIsAnUnexpectedReply) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  // No blank line follows: the error must not wait for one.
  asio::co_spawn(context, Serve(acceptor, {{"SMTP 220 hello\r\n"}}, 0, /*hold_open=*/true),
                 asio::detached);
  std::optional<ClientRun> run =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 1));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->results[0].error, v1::ERROR_CLASS_UNEXPECTED_REPLY);
  EXPECT_EQ(run->results[0].message, "malformed status line 'SMTP 220 hello'");
  EXPECT_FALSE(run->connected);
}

TEST(HttpClientTest, ReadTimesOut) {
  asio::io_context context;
  // The kernel completes the handshake; nobody ever answers.
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::optional<ClientRun> run = net::testing::RunFor(
      context, Client(acceptor.local_endpoint().port(), {false}, std::chrono::milliseconds(50)));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->results[0].error, v1::ERROR_CLASS_TIMEOUT);
  EXPECT_EQ(run->results[0].message.rfind("read response: ", 0), 0u) << run->results[0].message;
  EXPECT_FALSE(run->connected);
}

TEST(HttpClientTest, RefusedConnectionIsClassified) {
  asio::io_context context;
  uint16_t port;
  {
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = acceptor.local_endpoint().port();
  }
  std::optional<ClientRun> run = net::testing::RunFor(context, Client(port, 1));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->results[0].error, v1::ERROR_CLASS_REFUSED);
}

}  // namespace
}  // namespace tpslab::loadgen
