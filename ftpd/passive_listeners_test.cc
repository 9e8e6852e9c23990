#include "ftpd/passive_listeners.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <random>

#include "absl/status/statusor.h"
#include "ftpd/passive_ports.h"

namespace tpslab::ftpd {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

// A range below the kernel's ephemeral ports, starting at random so that
// concurrent test runs rarely meet.
PortRange TestRange() {
  std::random_device seed;
  const auto min = static_cast<uint16_t>(20000 + seed() % 9000);
  return {min, static_cast<uint16_t>(min + 199)};
}

class PassiveListenersTest : public ::testing::Test {
 protected:
  asio::io_context context_;
  PassivePorts ports_{TestRange()};
  PassiveListeners& pool_ = PassiveListeners::Of(context_.get_executor());
};

TEST_F(PassiveListenersTest, OnePoolPerIoContext) {
  asio::io_context other;
  EXPECT_EQ(&PassiveListeners::Of(context_.get_executor()), &pool_);
  EXPECT_NE(&PassiveListeners::Of(other.get_executor()), &pool_);
}

TEST_F(PassiveListenersTest, AReleasedListenerIsReusedOnItsPort) {
  absl::StatusOr<PassiveListeners::Lease> first =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(first.ok()) << first.status();
  const tcp::endpoint endpoint = first->endpoint;
  EXPECT_EQ(first->acceptor.local_endpoint(), endpoint);
  EXPECT_TRUE(ports_.range().Contains(endpoint.port()));
  EXPECT_EQ(first->strays_closed, 0);

  // While leased, the next Acquire gets another port.
  absl::StatusOr<PassiveListeners::Lease> second =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->endpoint, endpoint);

  pool_.Release(*std::move(first));
  EXPECT_EQ(pool_.idle(), 1u);
  absl::StatusOr<PassiveListeners::Lease> again =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->endpoint, endpoint);
  EXPECT_EQ(pool_.idle(), 0u);

  // It still accepts.
  tcp::socket client(context_);
  client.connect(endpoint);
  again->acceptor.non_blocking(false);
  tcp::socket server = again->acceptor.accept();
  EXPECT_EQ(server.remote_endpoint(), client.local_endpoint());
}

TEST_F(PassiveListenersTest, ConnectionsQueuedWhileIdleAreClosedOnAcquire) {
  absl::StatusOr<PassiveListeners::Lease> lease =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(lease.ok()) << lease.status();
  const tcp::endpoint endpoint = lease->endpoint;
  pool_.Release(*std::move(lease));

  // Two connections reach the idle listener (the kernel completes them).
  tcp::socket early1(context_), early2(context_);
  early1.connect(endpoint);
  early2.connect(endpoint);

  absl::StatusOr<PassiveListeners::Lease> next =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->endpoint, endpoint);
  EXPECT_EQ(next->strays_closed, 2);
  for (tcp::socket* early : {&early1, &early2}) {
    std::array<char, 1> byte;
    boost::system::error_code ec;
    asio::read(*early, asio::buffer(byte), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  // The connection made after the lease is the one accepted.
  tcp::socket client(context_);
  client.connect(endpoint);
  next->acceptor.non_blocking(false);
  tcp::socket server = next->acceptor.accept();
  EXPECT_EQ(server.remote_endpoint(), client.local_endpoint());
}

TEST_F(PassiveListenersTest, PoolsAreKeptApartByAddressRangeAndBufferSize) {
  PassivePorts other_ports(TestRange());
  absl::StatusOr<PassiveListeners::Lease> lease =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(lease.ok()) << lease.status();
  const tcp::endpoint endpoint = lease->endpoint;
  pool_.Release(*std::move(lease));

  const auto reuses = [&](const asio::ip::address& address, PassivePorts& ports, int buffer) {
    absl::StatusOr<PassiveListeners::Lease> l =
        pool_.Acquire(context_.get_executor(), address, ports, buffer);
    EXPECT_TRUE(l.ok()) << l.status();
    const bool same = l.ok() && l->endpoint == endpoint;
    if (l.ok() && !same) l->acceptor.close();
    if (same) pool_.Release(*std::move(l));
    return same;
  };
  EXPECT_FALSE(reuses(asio::ip::make_address("127.0.0.2"), ports_, 0));
  EXPECT_FALSE(reuses(kLoopback, other_ports, 0));
  EXPECT_FALSE(reuses(kLoopback, ports_, 65536));
  EXPECT_TRUE(reuses(kLoopback, ports_, 0));
}

TEST_F(PassiveListenersTest, AClosedListenerIsNotKept) {
  absl::StatusOr<PassiveListeners::Lease> lease =
      pool_.Acquire(context_.get_executor(), kLoopback, ports_, 0);
  ASSERT_TRUE(lease.ok()) << lease.status();
  lease->acceptor.close();
  pool_.Release(*std::move(lease));
  EXPECT_EQ(pool_.idle(), 0u);
}

TEST_F(PassiveListenersTest, ErrorsOfANewListenerArePassedOn) {
  // 192.0.2.1 (TEST-NET-1) is no local address: bind fails at once.
  absl::StatusOr<PassiveListeners::Lease> lease =
      pool_.Acquire(context_.get_executor(), asio::ip::make_address("192.0.2.1"), ports_, 0);
  ASSERT_FALSE(lease.ok());
  EXPECT_NE(lease.status().message().find("cannot bind passive listener to 192.0.2.1:"),
            std::string::npos)
      << lease.status();
}

}  // namespace
}  // namespace tpslab::ftpd
