#include "ftpd/passive_listeners.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/system/error_code.hpp>
#include <iterator>
#include <utility>

namespace tpslab::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;

PassiveListeners::PassiveListeners(asio::execution_context& context)
    : asio::execution_context::service(context) {}

PassiveListeners& PassiveListeners::Of(const asio::any_io_executor& executor) {
  return asio::use_service<PassiveListeners>(
      asio::query(executor, asio::execution::context_as<asio::execution_context&>));
}

absl::StatusOr<PassiveListeners::Lease> PassiveListeners::Acquire(
    const asio::any_io_executor& executor, const asio::ip::address& address, PassivePorts& ports,
    int buffer_size) {
  {
    std::lock_guard lock(mutex_);
    for (;;) {
      // The most recently released first: its port is the likeliest to be
      // warm in the caches.
      const auto it = std::find_if(idle_.rbegin(), idle_.rend(), [&](const Idle& idle) {
        return idle.Matches(&ports, buffer_size, address);
      });
      if (it == idle_.rend()) break;
      Lease lease{std::move(it->acceptor), it->endpoint, 0, &ports, buffer_size};
      idle_.erase(std::next(it).base());
      // Anything queued arrived before the port was announced: no one's.
      error_code ec;
      for (;;) {
        tcp::socket stray = lease.acceptor.accept(ec);
        if (ec) break;
        ++lease.strays_closed;
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again) return lease;
      // A listener that fails otherwise (it should not) is dropped.
      lease.acceptor.close(ec);
    }
  }
  Lease lease{tcp::acceptor(executor), {}, 0, &ports, buffer_size};
  absl::StatusOr<tcp::acceptor> acceptor =
      ports.Listen(executor, address, buffer_size, &lease.endpoint);
  if (!acceptor.ok()) return acceptor.status();
  lease.acceptor = *std::move(acceptor);
  error_code ec;
  // Acquire drains the backlog without waiting.
  lease.acceptor.non_blocking(true, ec);
  if (ec)
    return absl::InternalError("cannot make a passive listener non-blocking: " + ec.message());
  return lease;
}

void PassiveListeners::Release(Lease lease) {
  if (!lease.acceptor.is_open()) return;
  std::lock_guard lock(mutex_);
  const auto same = std::count_if(idle_.begin(), idle_.end(), [&](const Idle& idle) {
    return idle.Matches(lease.ports, lease.buffer_size, lease.endpoint.address());
  });
  if (static_cast<std::size_t>(same) >= kMaxIdle) return;  // `lease` closes the listener.
  idle_.push_back({std::move(lease.acceptor), lease.endpoint, lease.ports, lease.buffer_size});
}

std::size_t PassiveListeners::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void PassiveListeners::shutdown() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

}  // namespace tpslab::ftpd
