// IoContextPool: N io_contexts, each run by its own thread, for servers and
// clients that spread connections over cores without sharing state: a
// connection lives on one context (one thread), so its handlers and
// coroutines never run concurrently and need no locks or strands.
//
// Usage:
//   tpslab::net::IoContextPool pool;  // one context per hardware thread
//   pool.HandleSignals([&](int) { server.StopAccepting(); });  // drain, then
//                                                              // pool.Stop()
//   co_spawn(pool.Next(), Session(...), detached);  // round-robin placement
//   pool.Run();  // blocks until Stop() (or a second SIGINT/SIGTERM)
//
// Run each connection's coroutine on the context that owns its socket (create
// the socket with the same context's executor): contexts are destroyed one
// after the other, and a handler must not outlive the context of the objects
// it holds.
#ifndef TPSLAB_COMMON_NET_IO_CONTEXT_POOL_H_
#define TPSLAB_COMMON_NET_IO_CONTEXT_POOL_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tpslab::net {

class IoContextPool {
 public:
  // Called with the signal number (SIGINT or SIGTERM) on the first signal.
  using SignalCallback = std::function<void(int signal_number)>;

  // Creates `threads` io_contexts (0: std::thread::hardware_concurrency(), at
  // least 1). Threads start in Run().
  explicit IoContextPool(std::size_t threads = 0);

  // Stops the contexts and joins the threads if Run() has not done so.
  ~IoContextPool();

  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  // Number of contexts (and threads).
  std::size_t size() const { return contexts_.size(); }

  // Returns the contexts in round-robin order, to place the next connection.
  // Thread-safe.
  boost::asio::io_context& Next();

  // Returns context `index` (< size()).
  boost::asio::io_context& context(std::size_t index);

  // Handles SIGINT and SIGTERM through asio (the callback runs on context 0
  // as an ordinary handler, not in a signal handler): the first signal calls
  // `on_first_signal` once (typically: stop accepting, let sessions drain,
  // then call Stop()); a second signal calls Stop(). An empty callback makes
  // the first signal call Stop(). The handlers are removed, and the default
  // disposition restored, when Run() returns. Call at most once, before Run(),
  // from the thread that calls Run().
  void HandleSignals(SignalCallback on_first_signal);

  // Runs every context on its own thread and blocks until Stop() is called
  // (by a handler, another thread or a signal) and all threads are joined.
  // If a handler throws, the pool stops and Run() rethrows the first
  // exception. Call once.
  void Run();

  // Stops all contexts: handlers not yet run are abandoned (graceful draining
  // is the application's job before it calls Stop()). Thread-safe, idempotent,
  // callable from handlers on the pool's own threads. Calling it before Run()
  // makes Run() return at once.
  void Stop();

  // True once Stop() has been called.
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

 private:
  void OnSignal(const boost::system::error_code& ec, int signal_number);
  void JoinThreads();

  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::optional<boost::asio::signal_set> signals_;
  SignalCallback on_first_signal_;
  int signals_received_ = 0;  // Touched only by handlers on context 0.
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;
  std::mutex exception_mutex_;
  std::exception_ptr first_exception_;  // Guarded by exception_mutex_.
};

}  // namespace tpslab::net

#endif  // TPSLAB_COMMON_NET_IO_CONTEXT_POOL_H_
