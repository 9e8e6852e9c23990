#include "common/agent/agent_stream.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

namespace tpslab::agent {
namespace {

using google::protobuf::util::TimeUtil;
using Clock = std::chrono::system_clock;

std::string DefaultSourceId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  const auto start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  std::ostringstream id;
  id << (host[0] ? host : "unknown") << '/' << getpid() << '/' << start;
  return id.str();
}

std::string Hostname() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "unknown";
  return host;
}

google::protobuf::Timestamp Now() {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

int64_t Nanos(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToNanoseconds(t); }

std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& ca_file,
                                                      std::string* error) {
  if (ca_file.empty()) return grpc::InsecureChannelCredentials();
  std::ifstream in(ca_file);
  if (!in) {
    *error = "cannot read TLS CA file " + ca_file;
    return nullptr;
  }
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  return grpc::SslCredentials(ssl);
}

}  // namespace

AgentStream::AgentStream(AgentStreamOptions options) : options_(std::move(options)) {
  if (options_.source_id.empty()) options_.source_id = DefaultSourceId();
  if (options_.max_buffered == 0) options_.max_buffered = 1;
  thread_ = std::thread([this] { Run(); });
}

AgentStream::~AgentStream() { Stop(); }

uint64_t AgentStream::Send(v1::AgentMessage message) {
  std::lock_guard lock(mutex_);
  const uint64_t sequence = PushLocked(std::move(message));
  changed_.notify_all();
  return sequence;
}

uint64_t AgentStream::PushLocked(v1::AgentMessage message) {
  const bool is_drop_report = message.has_drops();
  // A drop report may exceed the bound by one: without it the coordinator
  // could not acknowledge past the gap, and nothing would ever be freed.
  if (!is_drop_report) {
    while (buffer_.size() >= options_.max_buffered) {
      const uint64_t dropped = buffer_.front().sequence();
      if (unreported_drop_first_ == 0) unreported_drop_first_ = dropped;
      unreported_drop_last_ = dropped;
      ++stats_.dropped;
      buffer_.pop_front();
    }
  }
  const uint64_t sequence = next_sequence_++;
  message.set_source_id(options_.source_id);
  message.set_sequence(sequence);
  buffer_.push_back(std::move(message));
  ++stats_.sent_total;
  stats_.last_sequence = sequence;
  return sequence;
}

void AgentStream::ApplyAckLocked(uint64_t sequence) {
  if (sequence <= stats_.acked_sequence) return;
  stats_.acked_sequence = std::min(sequence, next_sequence_ - 1);
  while (!buffer_.empty() && buffer_.front().sequence() <= stats_.acked_sequence) {
    buffer_.pop_front();
  }
}

bool AgentStream::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const uint64_t target = next_sequence_ - 1;
  return changed_.wait_for(lock, timeout, [&] {
    return stopping_ || stats_.acked_sequence >= target;
  }) && stats_.acked_sequence >= target;
}

void AgentStream::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (active_context_ != nullptr) active_context_->TryCancel();
    changed_.notify_all();
  }
  std::call_once(joined_, [this] { thread_.join(); });
}

bool AgentStream::BeginCall(grpc::ClientContext& context) {
  Authorize(context);
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  active_context_ = &context;
  return true;
}

void AgentStream::EndCall() {
  std::lock_guard lock(mutex_);
  active_context_ = nullptr;
}

AgentStreamStats AgentStream::stats() const {
  std::lock_guard lock(mutex_);
  AgentStreamStats stats = stats_;
  stats.buffered = buffer_.size();
  return stats;
}

bool AgentStream::FirstDeliveryLocked(const v1::CoordinatorMessage& message) {
  // Enough for any realistic number of runs between agent restarts.
  constexpr size_t kRemembered = 4096;
  std::string key;
  if (message.has_run()) {
    key = "run/" + message.run().run_id();
  } else if (message.has_stop()) {
    key = "stop/" + message.stop().run_id();
  } else {
    return true;  // Unknown to this version: no key, pass it on.
  }
  if (!delivered_controls_.insert(key).second) return false;
  delivered_order_.push_back(std::move(key));
  if (delivered_order_.size() > kRemembered) {
    delivered_controls_.erase(delivered_order_.front());
    delivered_order_.pop_front();
  }
  return true;
}

void AgentStream::Authorize(grpc::ClientContext& context) const {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
}

void AgentStream::Run() {
  std::chrono::milliseconds backoff = options_.reconnect_min;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (RunConnection()) backoff = options_.reconnect_min;
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, backoff, [&] { return stopping_; })) return;
    backoff = std::min(backoff * 2, options_.reconnect_max);
  }
}

void AgentStream::MeasureClock(v1::Coordinator::Stub& stub) {
  std::optional<int64_t> best_rtt;
  int64_t best_offset = 0;
  for (int i = 0; i < options_.clock_pings; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    if (!BeginCall(context)) return;
    v1::PingRequest request;
    *request.mutable_client_send_time() = Now();
    v1::PingResponse response;
    const bool ok = stub.Ping(&context, request, &response).ok();
    EndCall();
    if (!ok) return;
    const int64_t t4 = Nanos(Now());
    const int64_t t1 = Nanos(request.client_send_time());
    const int64_t t2 = Nanos(response.server_receive_time());
    const int64_t t3 = Nanos(response.server_send_time());
    const int64_t rtt = (t4 - t1) - (t3 - t2);
    if (!best_rtt || rtt < *best_rtt) {
      best_rtt = rtt;
      best_offset = ((t2 - t1) + (t3 - t4)) / 2;
    }
  }
  if (!best_rtt) return;
  std::lock_guard lock(mutex_);
  stats_.clock_offset = std::chrono::nanoseconds(best_offset);
  stats_.round_trip = std::chrono::nanoseconds(*best_rtt);
}

bool AgentStream::RunConnection() {
  std::string error;
  auto credentials = Credentials(options_.tls_ca_file, &error);
  if (!credentials) {
    std::lock_guard lock(mutex_);
    stats_.last_error = error;
    return false;
  }
  grpc::ChannelArguments args;
  // Notice a vanished coordinator within seconds, also while idle.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options_.reconnect_max.count()));
  auto channel = grpc::CreateCustomChannel(options_.coordinator, credentials, args);
  auto stub = v1::Coordinator::NewStub(channel);

  v1::RegisterRequest request;
  request.set_kind(options_.kind);
  request.set_source_id(options_.source_id);
  request.set_hostname(Hostname());
  request.set_version("tpslab.v1");
  request.set_token(options_.token);
  request.set_threads(options_.threads);
  v1::RegisterResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    if (!BeginCall(context)) return false;
    const grpc::Status status = stub->Register(&context, request, &response);
    EndCall();
    std::lock_guard lock(mutex_);
    if (!status.ok()) {
      stats_.last_error = "register with " + options_.coordinator + ": " + status.error_message();
      return false;
    }
    ++stats_.connects;
    ApplyAckLocked(response.acked_sequence());
  }
  MeasureClock(*stub);

  grpc::ClientContext context;
  // Metadata values must be printable ASCII; other ids are known to the
  // coordinator from their first message only.
  if (std::all_of(options_.source_id.begin(), options_.source_id.end(),
                  [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    context.AddMetadata("tpslab-source-id", options_.source_id);
  }
  if (!BeginCall(context)) return true;
  {
    std::lock_guard lock(mutex_);
    stream_broken_ = false;
    stats_.connected = true;
  }
  auto stream = stub->Stream(&context);

  std::thread reader([&] {
    v1::CoordinatorMessage message;
    while (stream->Read(&message)) {
      if (message.has_ack()) {
        std::lock_guard lock(mutex_);
        ApplyAckLocked(message.ack().acked_sequence());
        changed_.notify_all();
      } else if (options_.on_control) {
        bool first;
        {
          std::lock_guard lock(mutex_);
          first = FirstDeliveryLocked(message);
          ++(first ? stats_.controls : stats_.repeated_controls);
        }
        if (first) options_.on_control(message);
      }
    }
    std::lock_guard lock(mutex_);
    stream_broken_ = true;
    changed_.notify_all();
  });

  // Writer: everything unacknowledged, in order, then new items as they come.
  uint64_t next = 0;
  for (;;) {
    v1::AgentMessage item;
    {
      std::unique_lock lock(mutex_);
      if (unreported_drop_first_ != 0) {
        v1::AgentMessage report;
        report.mutable_drops()->set_dropped_total(stats_.dropped);
        report.mutable_drops()->set_first_dropped_sequence(unreported_drop_first_);
        report.mutable_drops()->set_last_dropped_sequence(unreported_drop_last_);
        unreported_drop_first_ = unreported_drop_last_ = 0;
        PushLocked(std::move(report));
      }
      changed_.wait(lock, [&] {
        return stopping_ || stream_broken_ || unreported_drop_first_ != 0 ||
               (!buffer_.empty() && buffer_.back().sequence() >= next);
      });
      if (stopping_ || stream_broken_) break;
      if (buffer_.empty() || buffer_.back().sequence() < next) continue;  // A drop report.
      next = std::max(next, buffer_.front().sequence());
      item = buffer_[next - buffer_.front().sequence()];
      if (next <= highest_written_) ++stats_.resent;
      highest_written_ = std::max(highest_written_, next);
    }
    if (!stream->Write(item)) break;
    ++next;
  }

  bool stopping;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_;
  }
  if (stopping) {
    stream->WritesDone();
  }
  context.TryCancel();
  reader.join();
  const grpc::Status status = stream->Finish();
  std::lock_guard lock(mutex_);
  active_context_ = nullptr;
  stats_.connected = false;
  if (!stopping_) {
    stats_.last_error =
        "stream to " + options_.coordinator +
        " ended: " + (status.ok() ? std::string("closed by coordinator") : status.error_message());
  }
  changed_.notify_all();
  return true;
}

}  // namespace tpslab::agent
