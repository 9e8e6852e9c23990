#include "common/net/io_context_pool.h"

#include <cassert>
#include <csignal>
#include <utility>

namespace tpslab::net {

IoContextPool::IoContextPool(std::size_t threads) {
  if (threads == 0) threads = std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  contexts_.reserve(threads);
  guards_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    // Hint 1: each context is run by exactly one thread, which lets Asio's
    // scheduler skip waking other threads. Posting from any thread stays safe.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

IoContextPool::~IoContextPool() {
  Stop();
  JoinThreads();
  signals_.reset();
  guards_.clear();
  // Destroy contexts in reverse order of creation; pending handlers are
  // destroyed without being run.
  while (!contexts_.empty()) contexts_.pop_back();
}

boost::asio::io_context& IoContextPool::Next() {
  const std::size_t n = next_.fetch_add(1, std::memory_order_relaxed);
  return *contexts_[n % contexts_.size()];
}

boost::asio::io_context& IoContextPool::context(std::size_t index) {
  assert(index < contexts_.size());
  return *contexts_[index];
}

void IoContextPool::HandleSignals(SignalCallback on_first_signal) {
  assert(!signals_.has_value() && "HandleSignals() called twice");
  assert(threads_.empty() && "HandleSignals() called after Run()");
  on_first_signal_ = std::move(on_first_signal);
  // Registers the process-wide handlers now, so a signal raised before the
  // threads start is queued, not lost.
  signals_.emplace(*contexts_.front(), SIGINT, SIGTERM);
  signals_->async_wait([this](const boost::system::error_code& ec, int signal_number) {
    OnSignal(ec, signal_number);
  });
}

void IoContextPool::OnSignal(const boost::system::error_code& ec, int signal_number) {
  if (ec) return;  // operation_aborted: the signal_set is being torn down.
  ++signals_received_;
  if (signals_received_ > 1 || !on_first_signal_) {
    Stop();
    return;
  }
  // Re-arm first, so a second signal during a slow callback is not lost.
  signals_->async_wait([this](const boost::system::error_code& ec, int signal_number) {
    OnSignal(ec, signal_number);
  });
  on_first_signal_(signal_number);
}

void IoContextPool::Run() {
  assert(threads_.empty() && "Run() called twice");
  threads_.reserve(contexts_.size());
  for (auto& context : contexts_) {
    threads_.emplace_back([this, ctx = context.get()] {
      try {
        ctx->run();
      } catch (...) {
        {
          std::lock_guard<std::mutex> lock(exception_mutex_);
          if (!first_exception_) first_exception_ = std::current_exception();
        }
        Stop();
      }
    });
  }
  JoinThreads();
  // No pool thread runs any more: the signal_set can be touched from here.
  // Destroying it removes asio's handlers, so later signals get the default
  // disposition instead of being queued for a context nobody runs.
  signals_.reset();
  std::exception_ptr exception;
  {
    std::lock_guard<std::mutex> lock(exception_mutex_);
    exception = std::exchange(first_exception_, nullptr);
  }
  if (exception) std::rethrow_exception(exception);
}

void IoContextPool::Stop() {
  if (stopped_.exchange(true, std::memory_order_acq_rel)) return;
  for (auto& context : contexts_) context->stop();
}

void IoContextPool::JoinThreads() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace tpslab::net
