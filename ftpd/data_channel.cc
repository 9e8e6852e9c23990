#include "ftpd/data_channel.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "common/net/tcp.h"
#include "ftpd/limits.h"
#include "ftpd/passive_listeners.h"

namespace tpslab::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kChunk = 64 * 1024;
// sendfile() bytes between yields to the event loop, so one fast download
// cannot starve the other sessions of its context.
constexpr uint64_t kYieldEvery = 4 * 1024 * 1024;
}  // namespace

std::size_t Pacer::ChunkLimit(std::size_t wanted) const {
  uint64_t rate = rate_;
  if (shared_ && (rate == 0 || shared_->bytes_per_second() < rate)) {
    rate = shared_->bytes_per_second();
  }
  if (rate == 0) return wanted;
  return std::max<std::size_t>(1, std::min<uint64_t>(wanted, std::max<uint64_t>(rate / 10, 1)));
}

asio::awaitable<void> Pacer::Account(std::size_t bytes) {
  bytes_ += bytes;
  if (rate_ == 0 && !shared_) co_return;
  const auto now = std::chrono::steady_clock::now();
  auto due = now;
  if (rate_ != 0) {
    due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(bytes_) /
                                                     static_cast<double>(rate_)));
  }
  if (shared_) due = std::max(due, shared_->Reserve(bytes, now));
  if (due <= now) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, due);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

DataChannel::DataChannel(const asio::any_io_executor& executor)
    : executor_(executor),
      listener_(executor),
      socket_(executor),
      accept_deadline_(executor, listener_),
      deadline_(executor, socket_) {}

absl::StatusOr<DataChannel::tcp::endpoint> DataChannel::Listen(const asio::ip::address& local,
                                                               PassivePorts& ports,
                                                               int buffer_size) {
  Cancel();
  active_.reset();
  buffer_size_ = buffer_size;
  absl::StatusOr<PassiveListeners::Lease> lease = PassiveListeners::Of(executor_).Acquire(
      executor_, NormalizeAddress(local), ports, buffer_size);
  if (!lease.ok()) return lease.status();
  listener_ = std::move(lease->acceptor);
  listener_endpoint_ = lease->endpoint;
  listener_ports_ = lease->ports;
  strays_closed_ = lease->strays_closed;
  listening_ = true;
  return listener_endpoint_;
}

void DataChannel::SetActive(const tcp::endpoint& target, const asio::ip::address& local,
                            int buffer_size) {
  Cancel();
  buffer_size_ = buffer_size;
  active_ = target;
  active_local_ = NormalizeAddress(local);
}

asio::awaitable<error_code> DataChannel::Establish(const asio::ip::address& expected_peer,
                                                   Duration timeout, Stats* stats) {
  tls_.reset();
  error_code ignored;
  socket_.close(ignored);
  net::SocketOptions options;
  // The last segment of a file (and TLS close_notify) goes out at once
  // instead of waiting on the peer's delayed ACK; writes are whole buffers.
  options.no_delay = true;
  options.receive_buffer_size = buffer_size_;
  options.send_buffer_size = buffer_size_;
  if (listening_) {
    if (stats != nullptr) {
      for (; strays_closed_ > 0; --strays_closed_) stats->Reject(Rejection::kDataStray);
    }
    accept_deadline_.ExpiresAfter(timeout);
    const asio::ip::address expected = NormalizeAddress(expected_peer);
    for (;;) {
      if (accept_deadline_.expired()) co_return make_error_code(net::Error::timed_out);
      tcp::endpoint peer;
      auto [ec, socket] =
          co_await listener_.async_accept(peer, asio::as_tuple(asio::use_awaitable));
      ec = accept_deadline_.MapError(ec);
      if (ec) {
        listening_ = false;
        listener_.close(ignored);
        co_return ec;
      }
      if (NormalizeAddress(peer.address()) != expected) {
        if (stats != nullptr) stats->Reject(Rejection::kDataPeerMismatch);
        socket.close(ignored);
        continue;
      }
      socket_ = std::move(socket);
      break;
    }
    accept_deadline_.ExpiresNever();
    listening_ = false;
    // Nothing is pending on the listener now: the next PASV/EPSV of any
    // session on this io_context may take it.
    PassiveListeners::Of(executor_).Release(
        {std::move(listener_), listener_endpoint_, 0, listener_ports_, buffer_size_});
    // TCP_NODELAY and the buffer sizes came with the listener (see
    // PassivePorts::Listen): accepted sockets inherit them.
    co_return error_code();
  }
  if (!active_) co_return make_error_code(asio::error::not_connected);
  const tcp::endpoint target = *active_;
  active_.reset();
  socket_.open(target.protocol(), ignored);
  if (ignored) co_return ignored;
  net::ApplySocketOptions(socket_, options);
  if (active_local_.is_v4() == target.address().is_v4() && !active_local_.is_unspecified()) {
    // The source port is still chosen at connect(), per destination
    // (IP_BIND_ADDRESS_NO_PORT), so binding the address costs no port.
    const int on = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    error_code bind_error;
    socket_.bind(tcp::endpoint(active_local_, 0), bind_error);
    if (bind_error) co_return bind_error;
  }
  deadline_.ExpiresAfter(timeout);
  auto [ec] = co_await socket_.async_connect(target, asio::as_tuple(asio::use_awaitable));
  co_return deadline_.MapError(ec);
}

asio::awaitable<error_code> DataChannel::StartTls(asio::ssl::context& context, Duration timeout) {
  tls_.emplace(socket_, context);
  deadline_.ExpiresAfter(timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                             asio::as_tuple(asio::use_awaitable));
  co_return deadline_.MapError(ec);
}

bool DataChannel::TlsSessionReused() { return tls_ && SSL_session_reused(tls_->native_handle()); }

asio::awaitable<net::IoResult> DataChannel::Write(asio::const_buffer data, Duration timeout) {
  deadline_.ExpiresAfter(timeout);
  if (tls_) co_return co_await net::Write(*tls_, data, deadline_);
  co_return co_await net::Write(socket_, data, deadline_);
}

asio::awaitable<net::IoResult> DataChannel::ReadSome(asio::mutable_buffer data, Duration timeout) {
  deadline_.ExpiresAfter(timeout);
  if (tls_) co_return co_await net::ReadSome(*tls_, data, deadline_);
  co_return co_await net::ReadSome(socket_, data, deadline_);
}

asio::awaitable<net::IoResult> DataChannel::SendFile(int fd, off_t offset, uint64_t count,
                                                     Duration timeout, Pacer* pacer,
                                                     uint64_t* progress) {
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) co_return net::IoResult{ec, 0};
  uint64_t sent = 0;
  uint64_t since_yield = 0;
  while (sent < count) {
    if (!socket_.is_open()) co_return net::IoResult{asio::error::operation_aborted, sent};
    const std::size_t chunk =
        pacer->ChunkLimit(static_cast<std::size_t>(std::min<uint64_t>(count - sent, 16 * kChunk)));
    const ssize_t n = ::sendfile(socket_.native_handle(), fd, &offset, chunk);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      *progress += static_cast<uint64_t>(n);
      since_yield += static_cast<uint64_t>(n);
      co_await pacer->Account(static_cast<std::size_t>(n));
      if (since_yield >= kYieldEvery) {
        since_yield = 0;
        co_await asio::post(executor_, asio::use_awaitable);
      }
      continue;
    }
    if (n == 0) break;  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      co_return net::IoResult{error_code(errno, boost::system::system_category()), sent};
    }
    deadline_.ExpiresAfter(timeout);
    if (deadline_.expired()) co_return net::IoResult{net::Error::timed_out, sent};
    auto [wait_ec] =
        co_await socket_.async_wait(tcp::socket::wait_write, asio::as_tuple(asio::use_awaitable));
    wait_ec = deadline_.MapError(wait_ec);
    if (wait_ec) co_return net::IoResult{wait_ec, sent};
  }
  co_return net::IoResult{{}, sent};
}

asio::awaitable<void> DataChannel::Close(Duration timeout) {
  error_code ignored;
  if (tls_ && socket_.is_open()) {
    deadline_.ExpiresAfter(timeout);
    co_await tls_->async_shutdown(asio::as_tuple(asio::use_awaitable));
  }
  deadline_.ExpiresNever();
  tls_.reset();
  socket_.close(ignored);
  listening_ = false;
  listener_.close(ignored);
}

void DataChannel::Cancel() {
  error_code ignored;
  listening_ = false;
  listener_.close(ignored);
  active_.reset();
  socket_.close(ignored);
}

}  // namespace tpslab::ftpd
