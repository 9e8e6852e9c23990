// Checks that reading lines allocates nothing once running: the reader's
// buffer is allocated up front, and Asio recycles coroutine frames and
// operation state per thread. Counts every global operator new in this
// binary (count_allocations.cc, a separate file so that the compiler does not
// see the replacement inlined into library code).
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "common/net/deadline.h"
#include "common/net/line_reader.h"
#include "common/net/test_util.h"
#include "gtest/gtest.h"

// Defined in count_allocations.cc, which replaces global operator new.
long AllocationCount();

namespace tpslab::net {
namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;

// Reads `warmup` lines, then counts allocations over the next `measured`.
template <typename Stream>
awaitable<long> AllocationsPerLines(LineReader& reader, Stream& stream, Deadline& deadline,
                                    int warmup, int measured) {
  long before = 0;
  for (int i = 0; i < warmup + measured; ++i) {
    if (i == warmup) before = AllocationCount();
    deadline.ExpiresAfter(30s);
    const LineResult result = co_await reader.ReadLine(stream, deadline);
    if (result.error) co_return -1;
  }
  co_return AllocationCount() - before;
}

std::string Commands(int count) {
  std::string data;
  for (int i = 0; i < count; ++i) data += "RETR file-000123.bin\r\n";
  return data;
}

TEST(LineReaderAllocationTest, TheCounterSeesAllocations) {
  const long before = AllocationCount();
  // A direct call, which the compiler may not elide as it may a new-expression.
  void* volatile p = ::operator new(16);
  ::operator delete(p);
  EXPECT_EQ(AllocationCount(), before + 1);
}

TEST(LineReaderAllocationTest, InMemoryStreamReadsAllocateNothing) {
  boost::asio::io_context context;
  testing::ChunkedStream stream(context.get_executor(), Commands(3000), 100);
  Deadline deadline(context.get_executor(), stream);
  LineReader reader;
  std::optional<long> count =
      testing::RunFor(context, AllocationsPerLines(reader, stream, deadline, 100, 2000));
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 0) << "allocations while reading 2000 lines";
}

TEST(LineReaderAllocationTest, SocketReadsAllocateNothing) {
  boost::asio::io_context context;
  auto [client, server] = testing::ConnectedPair(context);
  boost::asio::write(client, boost::asio::buffer(Commands(3000)));
  Deadline deadline(server.get_executor(), server);
  LineReader reader;
  std::optional<long> count =
      testing::RunFor(context, AllocationsPerLines(reader, server, deadline, 100, 2000));
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 0) << "allocations while reading 2000 lines";
}

}  // namespace
}  // namespace tpslab::net
