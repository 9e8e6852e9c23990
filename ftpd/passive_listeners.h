// PassiveListeners: passive (PASV/EPSV) listening sockets kept for reuse,
// one pool per io_context (an Asio service), so that a data connection does
// not pay socket(2), bind(2), listen(2), epoll registration and close(2) of a
// listener of its own. With one transfer per session, as in small-file
// workloads, that is a fifth of the server's system calls per transaction.
//
//   PassiveListeners& pool = PassiveListeners::Of(executor);
//   absl::StatusOr<PassiveListeners::Lease> lease =
//       pool.Acquire(executor, local_address, passive_ports, buffer_size);
//   // announce lease->endpoint (227/229), accept one connection on
//   // lease->acceptor, then hand the listener back:
//   pool.Release(std::move(*lease));
//
// A listener is leased to one session at a time. While it is idle the kernel
// may still complete handshakes on it; Acquire accepts and closes whatever
// is queued (nobody had been told the port yet, so those connections are
// no one's), and reports how many. The peer check of every accepted data
// connection stays the caller's job, as with a fresh listener. Thread-safe;
// listeners belong to the io_context whose executor acquired them.
#ifndef TPSLAB_FTPD_PASSIVE_LISTENERS_H_
#define TPSLAB_FTPD_PASSIVE_LISTENERS_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "ftpd/passive_ports.h"

namespace tpslab::ftpd {

class PassiveListeners : public boost::asio::execution_context::service {
 public:
  using tcp = boost::asio::ip::tcp;
  using key_type = PassiveListeners;
  static inline boost::asio::execution_context::id id;

  // Idle listeners kept per (address, port range, buffer size); more are
  // closed on Release.
  static constexpr std::size_t kMaxIdle = 256;

  // A listener leased to one data connection.
  struct Lease {
    // Listening, non-blocking, on `endpoint`.
    tcp::acceptor acceptor;
    tcp::endpoint endpoint;
    // Connections that were queued on the idle listener and were closed.
    int strays_closed = 0;
    // Where it came from (its pool key).
    PassivePorts* ports = nullptr;
    int buffer_size = 0;
  };

  explicit PassiveListeners(boost::asio::execution_context& context);

  // The pool of the io_context that runs `executor`.
  static PassiveListeners& Of(const boost::asio::any_io_executor& executor);

  // An idle listener on `address` from `ports` with `buffer_size` (see
  // PassivePorts::Listen), its backlog emptied first; else a new one from
  // ports.Listen() (and its errors).
  absl::StatusOr<Lease> Acquire(const boost::asio::any_io_executor& executor,
                                const boost::asio::ip::address& address, PassivePorts& ports,
                                int buffer_size);

  // Takes a listener back for the next Acquire. It must have no operation
  // pending. Closed instead when it is not open or the pool is full.
  void Release(Lease lease);

  // Idle listeners in the pool.
  std::size_t idle() const;

 private:
  struct Idle {
    tcp::acceptor acceptor;
    tcp::endpoint endpoint;
    PassivePorts* ports;
    int buffer_size;

    // Whether this listener serves leases of `ports`, `buffer_size` and
    // `address`: what Acquire asks for and Release counts against kMaxIdle.
    bool Matches(const PassivePorts* wanted_ports, int wanted_buffer_size,
                 const boost::asio::ip::address& address) const {
      return ports == wanted_ports && buffer_size == wanted_buffer_size &&
             endpoint.address() == address;
    }
  };

  // Closes every idle listener before the io_context goes away.
  void shutdown() override;

  mutable std::mutex mutex_;
  std::vector<Idle> idle_;  // Most recently released last.
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_PASSIVE_LISTENERS_H_
