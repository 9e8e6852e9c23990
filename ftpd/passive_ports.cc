#include "ftpd/passive_ports.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/net/tcp.h"

namespace tpslab::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Backlog of a passive listener: it waits for one connection, from one
// client; a few more slots absorb strays that are accepted and refused.
constexpr int kBacklog = 8;

absl::Status StatusFromError(const error_code& ec, const std::string& context) {
  if (ec.category() == boost::system::system_category()) {
    return absl::ErrnoToStatus(ec.value(), context);
  }
  return absl::UnknownError(absl::StrCat(context, ": ", ec.message()));
}

// Opens and configures a listening socket for `protocol`; the first error,
// naming the step.
error_code OpenListener(PassivePorts::tcp::acceptor& acceptor, const PassivePorts::tcp& protocol,
                        int buffer_size, const char** step) {
  error_code ec;
  *step = "open a socket for";
  if (acceptor.open(protocol, ec); ec) return ec;
  *step = "set SO_REUSEADDR for";
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return ec;
  // Inherited by the data connection: the last segment of a file (and TLS
  // close_notify) goes out at once instead of waiting on a delayed ACK.
  *step = "set TCP_NODELAY for";
  if (acceptor.set_option(PassivePorts::tcp::no_delay(true), ec); ec) return ec;
  if (protocol == PassivePorts::tcp::v6()) {
    *step = "set IPV6_V6ONLY for";
    if (acceptor.set_option(asio::ip::v6_only(true), ec); ec) return ec;
  }
  if (buffer_size > 0) {
    // Before listen(): accepted sockets inherit the sizes, and the window
    // scale is fixed during the handshake.
    *step = "set buffer sizes for";
    if (acceptor.set_option(asio::socket_base::receive_buffer_size(buffer_size), ec); ec) return ec;
    if (acceptor.set_option(asio::socket_base::send_buffer_size(buffer_size), ec); ec) return ec;
  }
  return ec;
}

// Parses a decimal port in [1, 65535] that spans all of `text`.
bool ParsePort(std::string_view text, uint16_t* port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

std::string PortRange::ToString() const { return absl::StrFormat("%d-%d", min, max); }

absl::StatusOr<PortRange> ParsePortRange(std::string_view text) {
  const std::size_t dash = text.find('-');
  PortRange range;
  if (dash == std::string_view::npos || !ParsePort(text.substr(0, dash), &range.min) ||
      !ParsePort(text.substr(dash + 1), &range.max) || range.min < 1024 || range.min > range.max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected MIN-MAX with 1024 <= MIN <= MAX <= 65535, got '", std::string(text), "'"));
  }
  return range;
}

absl::StatusOr<PortRange> ReadLocalPortRange(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  unsigned min = 0, max = 0;
  std::string rest;
  text >> min >> max;
  const bool numbers = !text.fail();
  text >> rest;
  if (!numbers || !rest.empty() || min == 0 || min > max || max > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected two ports MIN MAX, got '",
                                                   absl::StripAsciiWhitespace(text.str()), "'"));
  }
  return PortRange{static_cast<uint16_t>(min), static_cast<uint16_t>(max)};
}

absl::StatusOr<std::vector<PortRange>> ParsePortList(std::string_view text) {
  std::vector<PortRange> ranges;
  std::string_view list = text;
  while (!list.empty() && absl::ascii_isspace(static_cast<unsigned char>(list.back()))) {
    list.remove_suffix(1);
  }
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    const std::size_t dash = item.find('-');
    PortRange range;
    const bool ok = dash == std::string_view::npos
                        ? ParsePort(item, &range.min) && ParsePort(item, &range.max)
                        : ParsePort(item.substr(0, dash), &range.min) &&
                              ParsePort(item.substr(dash + 1), &range.max) &&
                              range.min <= range.max;
    if (!ok || (comma != std::string_view::npos && list.empty())) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected ports or MIN-MAX ranges separated by commas, got '",
                       std::string(item), "' in '", std::string(text), "'"));
    }
    ranges.push_back(range);
  }
  return ranges;
}

absl::StatusOr<std::vector<PortRange>> ReadReservedPorts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<PortRange>> ranges = ParsePortList(text.str());
  if (!ranges.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", ranges.status().message()));
  return ranges;
}

PassivePorts::PassivePorts(PortRange range, uint32_t start, const std::vector<PortRange>& reserved)
    : range_(range), reserved_(range.size(), false), cursor_(start) {
  for (const PortRange& r : reserved) {
    for (uint32_t port = std::max(r.min, range.min); port <= std::min(r.max, range.max); ++port) {
      reserved_[port - range.min] = true;
    }
  }
  available_ = static_cast<uint32_t>(std::count(reserved_.begin(), reserved_.end(), false));
}

absl::StatusOr<PassivePorts::tcp::acceptor> PassivePorts::Listen(
    const asio::any_io_executor& executor, const asio::ip::address& address, int buffer_size,
    tcp::endpoint* bound) {
  const uint32_t attempts = std::min(available_, kMaxAttempts);
  tcp::acceptor acceptor(executor);
  uint32_t tried = 0;
  for (uint32_t visited = 0; visited < range_.size() && tried < attempts; ++visited) {
    const uint32_t offset = cursor_.fetch_add(1, std::memory_order_relaxed) % range_.size();
    if (reserved_[offset]) continue;
    ++tried;
    const auto port = static_cast<uint16_t>(range_.min + offset);
    const tcp::endpoint endpoint(address, port);
    const char* step = "";
    error_code ec;
    // A failed bind leaves the socket unbound: the next port reuses it.
    if (!acceptor.is_open()) ec = OpenListener(acceptor, endpoint.protocol(), buffer_size, &step);
    if (!ec) {
      step = "bind passive listener to";
      acceptor.bind(endpoint, ec);
      if (ec == asio::error::address_in_use) continue;
    }
    if (!ec) {
      step = "listen on";
      acceptor.listen(kBacklog, ec);
      if (ec == asio::error::address_in_use) {
        // Another socket started listening on the port between our bind
        // and listen; a bound socket cannot move, so start afresh.
        acceptor.close(ec);
        continue;
      }
    }
    if (ec) {
      return StatusFromError(ec, absl::StrCat("cannot ", step, " ", net::FormatEndpoint(endpoint)));
    }
    if (bound != nullptr) *bound = endpoint;
    return acceptor;
  }
  return absl::ResourceExhaustedError(
      absl::StrFormat("no free passive port in %s on %s: %d ports tried, all in use",
                      range_.ToString(), address.to_string(), tried));
}

}  // namespace tpslab::ftpd
