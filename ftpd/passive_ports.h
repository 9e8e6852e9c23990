// PassivePorts: the ports that passive data listeners (PASV/EPSV) bind to,
// handed out round-robin from a range by a cursor that every session of a
// server shares.
//
// ftpd never asks the kernel for "any port" (port 0) here: a server that
// sends files closes its data connections first, so each download leaves a
// TIME_WAIT socket on a passive port, and the kernel's port-0 search treats
// every such port as taken and walks them all on each bind. Binding a
// chosen port with SO_REUSEADDR is allowed over TIME_WAIT sockets and costs
// one hash lookup. docs/ftpd.md ("Passive ports") has the measurements.
//
//   absl::StatusOr<PortRange> range = ParsePortRange("50000-50999");
//   PassivePorts ports(*range, /*start=*/random);
//   absl::StatusOr<tcp::acceptor> listener =
//       ports.Listen(executor, control_local_address, /*buffer_size=*/0);
//   if (!listener.ok()) reply 425;   // e.g. "no free passive port in ..."
//
// Thread-safe: sessions on every event loop thread share one PassivePorts.
#ifndef TPSLAB_FTPD_PASSIVE_PORTS_H_
#define TPSLAB_FTPD_PASSIVE_PORTS_H_

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tpslab::ftpd {

// An inclusive range of TCP ports, 1 <= min <= max.
struct PortRange {
  // First port of the range. Default 0: not a valid range.
  uint16_t min = 0;
  // Last port of the range, inclusive. Default 0: not a valid range.
  uint16_t max = 0;

  // Ports in the range.
  uint32_t size() const { return static_cast<uint32_t>(max - min) + 1; }
  // True when `port` is in the range.
  bool Contains(uint16_t port) const { return port >= min && port <= max; }
  // "MIN-MAX".
  std::string ToString() const;
  bool operator==(const PortRange&) const = default;
};

// Linux's default ephemeral port range, used when the kernel's cannot be
// read.
inline constexpr PortRange kDefaultPassivePorts{32768, 60999};

// Where Linux publishes its ephemeral port range.
inline constexpr char kLocalPortRangePath[] = "/proc/sys/net/ipv4/ip_local_port_range";
inline constexpr char kReservedPortsPath[] = "/proc/sys/net/ipv4/ip_local_reserved_ports";

// Parses "MIN-MAX" as given to --passive-ports: 1024 <= MIN <= MAX <= 65535.
// InvalidArgument otherwise, quoting the text.
absl::StatusOr<PortRange> ParsePortRange(std::string_view text);

// Reads the kernel's ephemeral port range ("32768\t60999\n") from `path`.
// NotFound/PermissionDenied when it cannot be read, InvalidArgument when it
// does not hold two ports MIN <= MAX; both messages name the path.
absl::StatusOr<PortRange> ReadLocalPortRange(const std::string& path = kLocalPortRangePath);

// Parses the kernel's list of reserved ports ("8080,9000-9100", or empty):
// ports and MIN-MAX ranges separated by commas, optional trailing newline.
absl::StatusOr<std::vector<PortRange>> ParsePortList(std::string_view text);

// Reads net.ipv4.ip_local_reserved_ports: ports kept for services that bind
// them by number, which the kernel never hands out as ephemeral ports.
absl::StatusOr<std::vector<PortRange>> ReadReservedPorts(
    const std::string& path = kReservedPortsPath);

class PassivePorts {
 public:
  using tcp = boost::asio::ip::tcp;

  // Bind attempts per Listen() call: a range busier than this around the
  // cursor is reported as exhausted rather than scanned to its end.
  static constexpr uint32_t kMaxAttempts = 64;

  // Hands out ports of `range` (valid: 1 <= min <= max), the first being
  // range.min + start % range.size(), skipping the ports of `reserved` (see
  // ReadReservedPorts; ranges may reach outside `range`). Servers pass a
  // random `start` so that a restart does not begin on the ports it just
  // left in TIME_WAIT.
  explicit PassivePorts(PortRange range, uint32_t start = 0,
                        const std::vector<PortRange>& reserved = {});
  PassivePorts(const PassivePorts&) = delete;
  PassivePorts& operator=(const PassivePorts&) = delete;

  // Opens a listener on `address` at the next port of the range, with
  // SO_REUSEADDR (so TIME_WAIT connections on that port do not block it),
  // TCP_NODELAY (accepted connections inherit it),
  // IPV6_V6ONLY for IPv6 addresses, SO_SNDBUF/SO_RCVBUF of `buffer_size`
  // (0: kernel default) and a small backlog. A port in use (EADDRINUSE)
  // moves on to the next one, for up to min(range size, kMaxAttempts)
  // ports; then ResourceExhausted "no free passive port in MIN-MAX on
  // ADDRESS ...". Any other error (e.g. EADDRNOTAVAIL, EACCES) is returned
  // at once: "cannot bind passive listener to ADDRESS:PORT: ...". When
  // `bound` is given it receives the listening endpoint.
  absl::StatusOr<tcp::acceptor> Listen(const boost::asio::any_io_executor& executor,
                                       const boost::asio::ip::address& address, int buffer_size,
                                       tcp::endpoint* bound = nullptr);

  // The range ports come from.
  const PortRange& range() const { return range_; }
  // Ports of the range that are not reserved.
  uint32_t available() const { return available_; }

 private:
  const PortRange range_;
  std::vector<bool> reserved_;  // By offset in the range.
  uint32_t available_ = 0;
  // Counts ports handed out; the next port is range_.min + cursor_ % size.
  std::atomic<uint32_t> cursor_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_PASSIVE_PORTS_H_
