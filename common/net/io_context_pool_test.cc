#include "common/net/io_context_pool.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <csignal>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tpslab::net {
namespace {

TEST(IoContextPoolTest, DefaultSizeIsHardwareConcurrency) {
  IoContextPool pool;
  const std::size_t expected = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(pool.size(), expected);
}

TEST(IoContextPoolTest, NextIsRoundRobin) {
  IoContextPool pool(3);
  std::vector<boost::asio::io_context*> order;
  for (int i = 0; i < 6; ++i) order.push_back(&pool.Next());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(order[i], &pool.context(i)) << "call " << i;
    EXPECT_EQ(order[i + 3], &pool.context(i)) << "call " << i + 3;
  }
}

TEST(IoContextPoolTest, EachContextRunsOnItsOwnThread) {
  constexpr std::size_t kThreads = 4;
  IoContextPool pool(kThreads);
  std::mutex mutex;
  std::vector<std::thread::id> ids(kThreads);
  std::atomic<std::size_t> done{0};
  for (std::size_t i = 0; i < kThreads; ++i) {
    boost::asio::post(pool.context(i), [&, i] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        ids[i] = std::this_thread::get_id();
      }
      // Work posted to the same context again runs on the same thread.
      boost::asio::post(pool.context(i), [&, i] {
        {
          std::lock_guard<std::mutex> lock(mutex);
          EXPECT_EQ(ids[i], std::this_thread::get_id()) << "context " << i;
        }
        if (done.fetch_add(1) + 1 == kThreads) pool.Stop();
      });
    });
  }
  pool.Run();  // Returns once the last handler stopped the pool.

  EXPECT_EQ(done.load(), kThreads);
  EXPECT_TRUE(pool.stopped());
  std::set<std::thread::id> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), kThreads);
  EXPECT_EQ(distinct.count(std::thread::id()), 0u) << "a context never ran its handler";
  EXPECT_EQ(distinct.count(std::this_thread::get_id()), 0u) << "ran on the caller's thread";
}

TEST(IoContextPoolTest, StopBeforeRunMakesRunReturn) {
  IoContextPool pool(2);
  pool.Stop();
  pool.Stop();  // Idempotent.
  pool.Run();
  EXPECT_TRUE(pool.stopped());
}

TEST(IoContextPoolTest, StopFromAnotherThreadWhileIdle) {
  IoContextPool pool(2);
  std::atomic<bool> running{false};
  boost::asio::post(pool.context(1), [&] { running = true; });
  std::thread stopper([&] {
    while (!running) std::this_thread::yield();
    pool.Stop();
  });
  pool.Run();  // The work guards keep idle contexts running until Stop().
  stopper.join();
  EXPECT_TRUE(running);
}

TEST(IoContextPoolTest, HandlerExceptionStopsThePoolAndIsRethrownByRun) {
  IoContextPool pool(2);
  boost::asio::post(pool.context(1), [] { throw std::runtime_error("handler failed"); });
  try {
    pool.Run();
    FAIL() << "Run() returned normally";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "handler failed");
  }
  EXPECT_TRUE(pool.stopped());
}

TEST(IoContextPoolTest, FirstSignalCallsTheCallbackOnce) {
  IoContextPool pool(2);
  std::atomic<int> calls{0};
  std::atomic<int> received{0};
  pool.HandleSignals([&](int signal_number) {
    ++calls;
    received = signal_number;
    pool.Stop();  // What a server does once it has drained.
  });
  boost::asio::post(pool.context(1), [] { std::raise(SIGTERM); });
  pool.Run();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(received.load(), SIGTERM);
}

TEST(IoContextPoolTest, SecondSignalForcesStop) {
  IoContextPool pool(2);
  std::atomic<int> calls{0};
  pool.HandleSignals([&](int signal_number) {
    ++calls;
    EXPECT_EQ(signal_number, SIGINT);
    // Draining "never finishes"; the operator presses Ctrl-C again.
    boost::asio::post(pool.context(1), [] { std::raise(SIGTERM); });
  });
  boost::asio::post(pool.context(1), [] { std::raise(SIGINT); });
  pool.Run();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(pool.stopped());
}

TEST(IoContextPoolTest, WithoutCallbackTheFirstSignalStops) {
  IoContextPool pool(1);
  pool.HandleSignals(nullptr);
  std::raise(SIGINT);  // Before Run(): queued by asio, delivered once running.
  pool.Run();
  EXPECT_TRUE(pool.stopped());
}

}  // namespace
}  // namespace tpslab::net
