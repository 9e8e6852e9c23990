#include "loadgen/testing/http_test_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace tpslab::loadgen::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

HttpTestServer::HttpTestServer(HttpTestServerOptions options)
    : options_(options),
      acceptor_(context_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
      port_(acceptor_.local_endpoint().port()) {
  asio::co_spawn(context_, Accept(), asio::detached);
  thread_ = std::thread([this] { context_.run(); });
}

HttpTestServer::~HttpTestServer() {
  context_.stop();
  thread_.join();
}

asio::awaitable<void> HttpTestServer::Accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(context_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpTestServer::Serve(tcp::socket socket) {
  asio::streambuf buffer;
  asio::steady_timer timer(context_);
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(socket, buffer, "\r\n\r\n",
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    buffer.consume(n);
    if (++requests_ == options_.stall_request) {
      timer.expires_after(options_.stall);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(kResponse),
                                                     asio::as_tuple(asio::use_awaitable));
    if (wec) co_return;
  }
}

}  // namespace tpslab::loadgen::testing
