#include "ftpd/passive_ports.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

namespace asio = boost::asio;
using asio::ip::make_address;
using asio::ip::tcp;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ParsePortRangeTest, AcceptsMinDashMax) {
  absl::StatusOr<PortRange> range = ParsePortRange("50000-50999");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(*range, (PortRange{50000, 50999}));
  EXPECT_EQ(range->size(), 1000u);
  EXPECT_EQ(range->ToString(), "50000-50999");
  EXPECT_EQ(*ParsePortRange("1024-1024"), (PortRange{1024, 1024}));
  EXPECT_EQ(*ParsePortRange("60000-65535"), (PortRange{60000, 65535}));
}

TEST(ParsePortRangeTest, RejectsMalformedAndOutOfRange) {
  for (const char* text :
       {"", "50000", "50000-", "-50000", "a-b", "50000-50999x", " 50000-50999", "50999-50000",
        "80-90", "0-0", "1024-65536", "50000-50999-51000", "+50000-50999"}) {
    absl::StatusOr<PortRange> range = ParsePortRange(text);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << "'" << text << "'";
    EXPECT_THAT(range.status().message(), HasSubstr(std::string("got '") + text + "'"));
  }
}

TEST(ReadLocalPortRangeTest, ReadsTheKernelFormat) {
  const std::string path = TempPath("ip_local_port_range");
  WriteFile(path, "32768\t60999\n");
  absl::StatusOr<PortRange> range = ReadLocalPortRange(path);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(*range, (PortRange{32768, 60999}));
}

TEST(ReadLocalPortRangeTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = TempPath("no-such-file");
  absl::StatusOr<PortRange> range = ReadLocalPortRange(path);
  EXPECT_EQ(range.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(range.status().message(), HasSubstr("cannot read " + path));
}

TEST(ReadLocalPortRangeTest, MalformedContentIsInvalidArgument) {
  const std::string path = TempPath("bad_port_range");
  for (const char* text : {"", "32768", "60999 32768", "0 100", "1 70000", "1 2 3", "a b"}) {
    WriteFile(path, text);
    absl::StatusOr<PortRange> range = ReadLocalPortRange(path);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << "'" << text << "'";
    EXPECT_THAT(range.status().message(), HasSubstr(path + ": expected two ports MIN MAX"));
  }
}

TEST(ReadLocalPortRangeTest, ReadsThisMachinesRange) {
  std::ifstream probe(kLocalPortRangePath);
  if (!probe) GTEST_SKIP() << kLocalPortRangePath << " is not readable here";
  absl::StatusOr<PortRange> range = ReadLocalPortRange();
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_LE(range->min, range->max);
}

// Other tests and load generators share this machine, and their outgoing
// connections (and those connections' TIME_WAIT sockets) hold ports of the
// kernel's ephemeral range on 127.0.0.1 at random. So each test process
// takes an address of its own in 127.0.0.0/8 (all of it is loopback on
// Linux), and ports below the ephemeral range, which connect() never picks.
class PassivePortsTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kLowestPort = 10000;
  static constexpr uint32_t kHighestPort = 30000;

  PassivePortsTest() : random_(std::random_device{}()), loopback_(RandomLoopback()) {}

  asio::ip::address RandomLoopback() {
    std::uniform_int_distribution<int> byte(1, 254);
    return asio::ip::address_v4(asio::ip::address_v4::bytes_type{
        127, static_cast<unsigned char>(byte(random_)), static_cast<unsigned char>(byte(random_)),
        static_cast<unsigned char>(byte(random_))});
  }

  // `n` consecutive ports in [kLowestPort, kHighestPort] that a passive
  // listener on loopback_ can take right now, checked by listening on them
  // exactly as PassivePorts does.
  PortRange FreeRange(uint32_t n) {
    std::uniform_int_distribution<uint32_t> first(kLowestPort, kHighestPort - n + 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      const uint32_t min = first(random_);
      const PortRange range{static_cast<uint16_t>(min), static_cast<uint16_t>(min + n - 1)};
      PassivePorts probe(range);
      std::vector<tcp::acceptor> held;
      for (uint32_t i = 0; i < n; ++i) {
        absl::StatusOr<tcp::acceptor> listener =
            probe.Listen(context_.get_executor(), loopback_, 0);
        if (!listener.ok() || listener->local_endpoint().port() != min + i) break;
        held.push_back(*std::move(listener));
      }
      if (held.size() == n) return range;
    }
    ADD_FAILURE() << "found no " << n << " consecutive free ports in " << kLowestPort << "-"
                  << kHighestPort << " on " << loopback_;
    return {};
  }

  // Opens a listener from `ports` and returns its port, keeping it open.
  uint16_t Take(PassivePorts& ports) {
    absl::StatusOr<tcp::acceptor> listener = ports.Listen(context_.get_executor(), loopback_, 0);
    EXPECT_TRUE(listener.ok()) << listener.status();
    if (!listener.ok()) return 0;
    const uint16_t port = listener->local_endpoint().port();
    held_.push_back(*std::move(listener));
    return port;
  }

  std::mt19937 random_;
  asio::io_context context_;
  const asio::ip::address loopback_;
  std::vector<tcp::acceptor> held_;
};

TEST_F(PassivePortsTest, HandsOutPortsInTurnFromStartAndWraps) {
  const PortRange range = FreeRange(4);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range, /*start=*/6);  // 6 % 4: the third port first
  EXPECT_EQ(Take(ports), range.min + 2);
  EXPECT_EQ(Take(ports), range.min + 3);
  EXPECT_EQ(Take(ports), range.min + 0);
  EXPECT_EQ(Take(ports), range.min + 1);
}

TEST_F(PassivePortsTest, StaysInsideTheRange) {
  const PortRange range = FreeRange(5);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range, /*start=*/123456);
  for (uint32_t i = 0; i < 3 * range.size(); ++i) {
    absl::StatusOr<tcp::acceptor> listener = ports.Listen(context_.get_executor(), loopback_, 0);
    ASSERT_TRUE(listener.ok()) << listener.status();
    const uint16_t port = listener->local_endpoint().port();
    EXPECT_TRUE(range.Contains(port)) << port << " outside " << range.ToString();
    EXPECT_EQ(port, range.min + (123456 + i) % range.size());
  }
}

TEST_F(PassivePortsTest, SkipsAPortInUse) {
  const PortRange range = FreeRange(3);
  ASSERT_NE(range.min, 0);
  // Someone else listens on the first port, without SO_REUSEADDR.
  tcp::acceptor other(context_, tcp::endpoint(loopback_, range.min), /*reuse_addr=*/false);
  PassivePorts ports(range);
  EXPECT_EQ(Take(ports), range.min + 1);
  EXPECT_EQ(Take(ports), range.min + 2);
}

TEST(ParsePortListTest, ReadsTheKernelFormat) {
  absl::StatusOr<std::vector<PortRange>> ranges = ParsePortList("8080,9000-9100\n");
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_EQ(*ranges, (std::vector<PortRange>{{8080, 8080}, {9000, 9100}}));
  ranges = ParsePortList("\n");
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_TRUE(ranges->empty());
}

TEST(ParsePortListTest, RejectsMalformedItemsNamingThem) {
  for (const char* bad : {"80,x", "9100-9000", "1,,2", "0", "70000"}) {
    absl::StatusOr<std::vector<PortRange>> ranges = ParsePortList(bad);
    EXPECT_EQ(ranges.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(ranges.status().message(), HasSubstr("separated by commas, got '")) << bad;
  }
}

TEST(ReadReservedPortsTest, ReadsThisMachinesList) {
  std::ifstream probe(kReservedPortsPath);
  if (!probe) GTEST_SKIP() << kReservedPortsPath << " is not readable here";
  EXPECT_TRUE(ReadReservedPorts().ok());
}

TEST_F(PassivePortsTest, SkipsReservedPorts) {
  const PortRange range = FreeRange(5);
  ASSERT_NE(range.min, 0);
  const uint16_t second = range.min + 1;
  // The second port, and the last two (a reserved range reaching past the
  // end of ours).
  PassivePorts ports(range, /*start=*/0,
                     {{second, second}, {static_cast<uint16_t>(range.max - 1), 65535}});
  EXPECT_EQ(ports.available(), 2u);
  EXPECT_EQ(Take(ports), range.min);
  EXPECT_EQ(Take(ports), range.min + 2);
  held_.clear();
  EXPECT_EQ(Take(ports), range.min);
}

TEST_F(PassivePortsTest, ExhaustedRangeIsResourceExhausted) {
  const PortRange range = FreeRange(4);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range);
  for (int i = 0; i < 4; ++i) Take(ports);
  absl::StatusOr<tcp::acceptor> listener = ports.Listen(context_.get_executor(), loopback_, 0);
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(listener.status().message(),
              HasSubstr("no free passive port in " + range.ToString() + " on " +
                        loopback_.to_string() + ": 4 ports tried, all in use"));
  // A port that frees up is found again.
  held_.erase(held_.begin() + 1);
  EXPECT_EQ(Take(ports), range.min + 1);
}

TEST_F(PassivePortsTest, GivesUpAfterMaxAttemptsAndGoesOnFromThere) {
  const uint32_t extra = 8;
  const PortRange range = FreeRange(PassivePorts::kMaxAttempts + extra);
  ASSERT_NE(range.min, 0);
  PassivePorts holder(
      PortRange{range.min, static_cast<uint16_t>(range.min + PassivePorts::kMaxAttempts - 1)});
  for (uint32_t i = 0; i < PassivePorts::kMaxAttempts; ++i) Take(holder);
  PassivePorts ports(range);
  absl::StatusOr<tcp::acceptor> listener = ports.Listen(context_.get_executor(), loopback_, 0);
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(listener.status().message(), HasSubstr("64 ports tried, all in use"));
  EXPECT_EQ(Take(ports), range.min + PassivePorts::kMaxAttempts);
}

TEST_F(PassivePortsTest, BindsOverTimeWaitConnections) {
  const PortRange range = FreeRange(1);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range);
  {
    absl::StatusOr<tcp::acceptor> listener = ports.Listen(context_.get_executor(), loopback_, 0);
    ASSERT_TRUE(listener.ok()) << listener.status();
    tcp::socket client(context_);
    client.connect(listener->local_endpoint());
    tcp::socket server = listener->accept();
    listener->close();
    // A download's ending: the server sends and closes first, so the
    // TIME_WAIT lands on the server's side of the connection, on our port.
    asio::write(server, asio::buffer("data", 4));
    server.shutdown(tcp::socket::shutdown_send);
    char buffer[16];
    boost::system::error_code ec;
    asio::read(client, asio::buffer(buffer), ec);
    EXPECT_EQ(ec, asio::error::eof);
    client.close();
    EXPECT_EQ(server.read_some(asio::buffer(buffer), ec), 0u);
    EXPECT_EQ(ec, asio::error::eof);  // the client's FIN: server side now in TIME_WAIT
    server.close();
  }
  // Without SO_REUSEADDR the port is taken by the TIME_WAIT connection...
  tcp::acceptor plain(context_);
  plain.open(tcp::v4());
  boost::system::error_code ec;
  plain.bind(tcp::endpoint(loopback_, range.min), ec);
  EXPECT_EQ(ec, asio::error::address_in_use);
  plain.close();
  // ...but a passive listener gets it.
  EXPECT_EQ(Take(ports), range.min);
}

TEST_F(PassivePortsTest, OtherBindErrorsAreReturnedAtOnce) {
  const PortRange range = FreeRange(2);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range);
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: EADDRNOTAVAIL.
  absl::StatusOr<tcp::acceptor> listener =
      ports.Listen(context_.get_executor(), make_address("192.0.2.1"), 0);
  EXPECT_NE(listener.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(listener.ok());
  EXPECT_THAT(listener.status().message(),
              HasSubstr("cannot bind passive listener to 192.0.2.1:" + std::to_string(range.min)));
  // Only one port was spent on it.
  EXPECT_EQ(Take(ports), range.min + 1);
}

TEST_F(PassivePortsTest, SetsBufferSizesOnTheListener) {
  const PortRange range = FreeRange(1);
  ASSERT_NE(range.min, 0);
  PassivePorts ports(range);
  absl::StatusOr<tcp::acceptor> listener =
      ports.Listen(context_.get_executor(), loopback_, 64 * 1024);
  ASSERT_TRUE(listener.ok()) << listener.status();
  asio::socket_base::receive_buffer_size size;
  listener->get_option(size);
  EXPECT_GE(size.value(), 64 * 1024);  // Linux doubles it for bookkeeping
}

}  // namespace
}  // namespace tpslab::ftpd
