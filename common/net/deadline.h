// Deadline: a per-connection watchdog so that a stalled peer cannot hold a
// coroutine forever. Bound to a socket (or anything with cancel(), or with a
// lowest_layer() that has one, such as ssl::stream); when the deadline
// passes, the target's pending operations are cancelled and complete with
// operation_aborted, which the helpers below report as Error::timed_out.
//
// It is cheap enough to re-arm before every read and write: one timer per
// connection, allocated once; ExpiresAfter() only stores a time point unless
// the new expiry is earlier than the timer's pending wait, and the timer,
// when it wakes up early, sleeps again until the stored expiry.
//
// Usage (inside a session coroutine):
//   tcp::socket socket = ...;
//   Deadline deadline(socket.get_executor(), socket);
//   deadline.ExpiresAfter(std::chrono::seconds(30));
//   auto [ec, n] = co_await ReadSome(socket, boost::asio::buffer(buf), deadline);
//   if (ec == Error::timed_out) co_return;  // idle for 30 s
//
// Raw Asio operations on the target work too (map their error with
// MapError()), but cancel() reaches only the operations pending when the
// deadline fires: check expired() before starting each one, as the helpers
// below do.
//
// Threading: the Deadline, its target and the coroutines using them must run
// on one executor that is not used concurrently (a pool context or a strand).
// The Deadline may be destroyed while its timer is pending (e.g. the session
// ends); it must be destroyed before the target and before the io_context.
#ifndef TPSLAB_COMMON_NET_DEADLINE_H_
#define TPSLAB_COMMON_NET_DEADLINE_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/completion_condition.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

#include "common/net/error.h"

namespace tpslab::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Binds a deadline to `target`, whose cancel() is called when the deadline
  // passes; `target` must outlive the Deadline. Starts with no expiry.
  template <typename Target>
  Deadline(const boost::asio::any_io_executor& executor, Target& target)
      : Deadline(executor, &target, &CancelTarget<Target>) {}

  // Disarms the deadline. Safe while the timer's wait is pending: the wait's
  // handler then does nothing.
  ~Deadline();

  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Sets the expiry to now + `duration` (replacing any earlier setting) and
  // clears expired().
  void ExpiresAfter(Clock::duration duration) { ExpiresAt(Clock::now() + duration); }

  // Sets the expiry to `expiry` (replacing any earlier setting) and clears
  // expired().
  void ExpiresAt(Clock::time_point expiry);

  // Removes the expiry (operations may take forever) and clears expired().
  // Also cancels the timer's pending wait, so a finished session leaves no
  // work behind on its io_context; unlike ExpiresAfter(), not meant for
  // every operation.
  void ExpiresNever() { ExpiresAt(Clock::time_point::max()); }

  // The current expiry; Clock::time_point::max() when there is none.
  Clock::time_point expiry() const { return state_->expiry; }

  // True once the expiry has passed and the target was cancelled, until the
  // next ExpiresAfter()/ExpiresAt()/ExpiresNever().
  bool expired() const { return state_->expired; }

  // Maps the result of an operation on the target: operation_aborted after
  // the deadline fired becomes Error::timed_out; anything else is returned
  // unchanged (an abort without expiry came from someone else's cancel()).
  boost::system::error_code MapError(const boost::system::error_code& ec) const {
    if (ec == boost::asio::error::operation_aborted && state_->expired) {
      return make_error_code(Error::timed_out);
    }
    return ec;
  }

 private:
  using CancelFunction = void (*)(void* target);

  // Timer state, shared with the timer's pending handler so the handler
  // stays valid when the Deadline (and its owner) are gone. Only touched from
  // the Deadline's executor.
  struct State {
    State(const boost::asio::any_io_executor& executor, void* t, CancelFunction c)
        : timer(executor), target(t), cancel(c) {}

    boost::asio::steady_timer timer;
    // When the target's operations are due to be cancelled.
    Clock::time_point expiry = Clock::time_point::max();
    // The expiry of the most recently started timer wait.
    Clock::time_point armed_until = Clock::time_point::max();
    // Timer waits whose handler has not run yet (re-arming to an earlier time
    // leaves the superseded, aborted wait in flight for a moment).
    int pending_waits = 0;
    bool expired = false;
    // Null once the Deadline is destroyed.
    void* target;
    CancelFunction cancel;
  };

  Deadline(const boost::asio::any_io_executor& executor, void* target, CancelFunction cancel);

  template <typename Target>
  static void CancelTarget(void* target) {
    Target& t = *static_cast<Target*>(target);
    boost::system::error_code ignored;
    if constexpr (requires { t.cancel(ignored); }) {
      t.cancel(ignored);
    } else if constexpr (requires { t.cancel(); }) {
      t.cancel();
    } else {
      t.lowest_layer().cancel(ignored);
    }
  }

  static void Arm(const std::shared_ptr<State>& state, Clock::time_point at);
  static void OnTimer(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;  // Allocated once, in the constructor.
};

// Result of ReadSome() and Write().
struct IoResult {
  // Empty on success; Error::timed_out when the deadline fired (or had
  // already fired before the call); otherwise the stream's error.
  boost::system::error_code error;
  // Bytes transferred, also on error.
  std::size_t bytes = 0;
};

// Reads some bytes into `buffers`, bounded by `deadline`, which must be bound
// to `stream` (or its lowest layer). Arm the deadline before calling. A read
// that completed just as the deadline fired returns its bytes; the next call
// then reports the timeout.
template <typename AsyncReadStream, typename MutableBufferSequence>
boost::asio::awaitable<IoResult> ReadSome(AsyncReadStream& stream,
                                          const MutableBufferSequence& buffers,
                                          Deadline& deadline) {
  if (deadline.expired()) co_return IoResult{make_error_code(Error::timed_out), 0};
  auto [ec, n] =
      co_await stream.async_read_some(buffers, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return IoResult{deadline.MapError(ec), n};
}

// Writes all of `buffers`, bounded by `deadline`, which must be bound to
// `stream` (or its lowest layer). Arm the deadline before calling.
template <typename AsyncWriteStream, typename ConstBufferSequence>
boost::asio::awaitable<IoResult> Write(AsyncWriteStream& stream, const ConstBufferSequence& buffers,
                                       Deadline& deadline) {
  if (deadline.expired()) co_return IoResult{make_error_code(Error::timed_out), 0};
  // The deadline cancels only the write_some pending when it fires; if one
  // had just completed, the next must not start, so the completion condition
  // checks before each one.
  auto [ec, n] = co_await boost::asio::async_write(
      stream, buffers,
      [&deadline](const boost::system::error_code& error, std::size_t transferred) -> std::size_t {
        return deadline.expired() ? 0 : boost::asio::transfer_all()(error, transferred);
      },
      boost::asio::as_tuple(boost::asio::use_awaitable));
  if (!ec && deadline.expired() && n < boost::asio::buffer_size(buffers)) {
    co_return IoResult{make_error_code(Error::timed_out), n};
  }
  co_return IoResult{deadline.MapError(ec), n};
}

}  // namespace tpslab::net

#endif  // TPSLAB_COMMON_NET_DEADLINE_H_
