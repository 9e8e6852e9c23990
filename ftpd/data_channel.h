// DataChannel: one FTP session's data connection - a passive listener
// (PASV/EPSV) or an active target (PORT/EPRT), the connected socket, and
// optionally TLS on it (PROT P) - with every operation bounded by a
// deadline and cancellable by ABOR.
//
//   DataChannel data(executor);
//   absl::StatusOr<tcp::endpoint> ep = data.Listen(local_address, passive_ports, 0);  // 227/229
//   boost::system::error_code ec = co_await data.Establish(peer_address, 30s, &stats);
//   if (tls) ec = co_await data.StartTls(context, 30s);
//   co_await data.SendFile(fd, offset, size, 30s, &pacer);   // or Write / ReadSome
//   co_await data.Close(5s);
//
// Everything runs on the session's executor; nothing here is thread-safe.
#ifndef TPSLAB_FTPD_DATA_CHANNEL_H_
#define TPSLAB_FTPD_DATA_CHANNEL_H_

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "common/net/deadline.h"
#include "ftpd/passive_ports.h"
#include "ftpd/shared_rate.h"
#include "ftpd/stats.h"

namespace tpslab::ftpd {

// Paces a transfer to a byte rate (a token bucket whose burst is one chunk),
// and to a rate it shares with other transfers (SharedRate) when given one.
class Pacer {
 public:
  // `bytes_per_second` 0: no limit of its own; `shared` null: none shared.
  explicit Pacer(uint64_t bytes_per_second, std::shared_ptr<SharedRate> shared = nullptr)
      : rate_(bytes_per_second),
        shared_(std::move(shared)),
        start_(std::chrono::steady_clock::now()) {}
  // The largest chunk to move next (`wanted`, or a tenth of a second's worth
  // at a lower rate).
  std::size_t ChunkLimit(std::size_t wanted) const;
  // Counts `bytes` moved and waits, if the transfer is ahead of either rate,
  // until it is not.
  boost::asio::awaitable<void> Account(std::size_t bytes);

 private:
  const uint64_t rate_;
  const std::shared_ptr<SharedRate> shared_;
  const std::chrono::steady_clock::time_point start_;
  uint64_t bytes_ = 0;
};

class DataChannel {
 public:
  using tcp = boost::asio::ip::tcp;
  using Duration = std::chrono::steady_clock::duration;

  explicit DataChannel(const boost::asio::any_io_executor& executor);
  DataChannel(const DataChannel&) = delete;
  DataChannel& operator=(const DataChannel&) = delete;

  // Opens a passive listener on `local` (the control connection's local
  // address) at the next free port of `ports` (see PassivePorts::Listen),
  // with data sockets of `buffer_size` (0: kernel default), or reuses an
  // idle one of this io_context (PassiveListeners), which it hands back
  // after accepting. Replaces any earlier setup. Returns the listening
  // endpoint.
  absl::StatusOr<tcp::endpoint> Listen(const boost::asio::ip::address& local, PassivePorts& ports,
                                       int buffer_size);

  // Sets up an active connection to `target` (PORT/EPRT, already checked)
  // from `local` (the control connection's own address, so the client sees
  // both connections come from the address it dialled). Replaces any
  // earlier setup.
  void SetActive(const tcp::endpoint& target, const boost::asio::ip::address& local,
                 int buffer_size);

  // True once Listen() or SetActive() has been called and no transfer has
  // used it yet.
  bool configured() const { return listening_ || active_.has_value(); }

  // Connects: accepts on the passive listener (closing, and counting as
  // kDataPeerMismatch, connections from any address but `expected_peer`) or
  // connects to the active target, within `timeout`. Consumes the setup.
  boost::asio::awaitable<boost::system::error_code> Establish(
      const boost::asio::ip::address& expected_peer, Duration timeout, Stats* stats);

  // TLS server handshake on the connected socket within `timeout`.
  boost::asio::awaitable<boost::system::error_code> StartTls(boost::asio::ssl::context& context,
                                                             Duration timeout);
  // True when the TLS handshake resumed an earlier session.
  bool TlsSessionReused();
  bool tls() const { return tls_.has_value(); }

  // Writes all of `data`; each write bounded by `timeout`.
  boost::asio::awaitable<net::IoResult> Write(boost::asio::const_buffer data, Duration timeout);
  // Reads some bytes; bounded by `timeout`. eof at the end of the stream.
  boost::asio::awaitable<net::IoResult> ReadSome(boost::asio::mutable_buffer data,
                                                 Duration timeout);
  // sendfile(2)s `count` bytes of `fd` from `offset` (plain connections
  // only), waiting for socket space with no more than `timeout` per wait,
  // paced by `pacer`. `progress` is updated as bytes go out.
  boost::asio::awaitable<net::IoResult> SendFile(int fd, off_t offset, uint64_t count,
                                                 Duration timeout, Pacer* pacer,
                                                 uint64_t* progress);

  // Ends the connection: TLS close_notify exchange (bounded by `timeout`)
  // when TLS is on, then close. Also closes any passive listener.
  boost::asio::awaitable<void> Close(Duration timeout);

  // Aborts (ABOR, session end): closes the listener and the socket at once,
  // so pending operations complete with operation_aborted.
  void Cancel();

 private:
  boost::asio::any_io_executor executor_;
  tcp::acceptor listener_;  // Leased from PassiveListeners while listening_.
  bool listening_ = false;
  tcp::endpoint listener_endpoint_;
  PassivePorts* listener_ports_ = nullptr;
  int strays_closed_ = 0;  // Queued on the listener before we leased it.
  std::optional<tcp::endpoint> active_;
  boost::asio::ip::address active_local_;
  int buffer_size_ = 0;
  tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<tcp::socket&>> tls_;
  net::Deadline accept_deadline_;
  net::Deadline deadline_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_DATA_CHANNEL_H_
