// AgentStream: how loadgen and monitor agents deliver samples to the
// coordinator (analyzer) over gRPC, at least once, across coordinator
// restarts.
//
// Every Send() gets the next sequence number of this source and goes into a
// bounded buffer. A background thread registers with the coordinator
// (Coordinator.Register: the coordinator answers with the highest sequence it
// already stored), estimates the clock offset (Coordinator.Ping), then streams
// (Coordinator.Stream) everything not yet acknowledged, in order. The
// coordinator acknowledges the highest contiguous sequence it stored; the
// buffer forgets what is acknowledged. When the stream breaks, the thread
// reconnects with exponential backoff and resends what is still unacknowledged
// (ingestion is idempotent on (source_id, sequence), see sequence_tracker.h).
// When the buffer is full, the oldest item is dropped, counted, and reported
// to the coordinator in a DropReport, so losses are visible, never silent.
//
// Usage (monitor):
//   AgentStream stream({.coordinator = "127.0.0.1:7070",
//                       .kind = v1::AGENT_KIND_MONITOR});
//   v1::AgentMessage message;
//   *message.mutable_host() = sample;
//   stream.Send(std::move(message));       // never blocks
//   ...
//   stream.Flush(std::chrono::seconds(2));  // at shutdown: wait for the acks
//
// Run control (loadgen agents): the coordinator sends RunSpec and StopRun
// down the stream; they go to options.on_control once per run: a RunSpec
// whose run_id was delivered before, or a repeated StopRun of a run, is
// dropped, so the coordinator may repeat them after a reconnect (it does, for
// the run in progress) without a run being applied twice. The stream call
// carries "tpslab-source-id: SOURCE_ID" metadata, so the coordinator knows
// which agent a stream belongs to before the agent sends anything.
//
//   AgentStream stream({.coordinator = "127.0.0.1:7070",
//                       .kind = v1::AGENT_KIND_LOADGEN,
//                       .on_control = [&](const v1::CoordinatorMessage& m) {
//                         if (m.has_run()) queue.Push(m.run());   // own thread runs it
//                       }});
//
// Send(), Flush(), stats() and Stop() may be called from any thread.
#ifndef TPSLAB_COMMON_AGENT_AGENT_STREAM_H_
#define TPSLAB_COMMON_AGENT_AGENT_STREAM_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/proto/coordinator.grpc.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace tpslab::agent {

struct AgentStreamOptions {
  // Coordinator address, "HOST:PORT". Required.
  std::string coordinator;
  // Shared secret, sent in RegisterRequest.token and as "authorization:
  // Bearer TOKEN" metadata on every call. Default empty: no token.
  std::string token;
  // PEM file of the CA that signed the coordinator's certificate. Default
  // empty: plaintext (loopback and trusted networks only).
  std::string tls_ca_file;
  // What this agent is. Default unspecified.
  v1::AgentKind kind = v1::AGENT_KIND_UNSPECIFIED;
  // Identity of this source across reconnects. Default empty: the
  // constructor makes "HOSTNAME/PID/START_NS".
  std::string source_id;
  // Cores the agent uses, reported at registration. Default 0: unknown.
  uint32_t threads = 0;
  // Items kept until acknowledged; when full, the oldest is dropped and
  // counted. Default 65536 (about 18 h of 1 s samples from 1 source).
  std::size_t max_buffered = 65536;
  // Reconnect backoff: the first retry after reconnect_min, doubling up to
  // reconnect_max. Defaults 100 ms and 5 s.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Deadline of Register and Ping calls. Default 5 s.
  std::chrono::milliseconds call_timeout{5000};
  // Ping round trips per connection for the clock offset. Default 5.
  int clock_pings = 5;
  // Called on the stream's reader thread for each control message (a
  // RunSpec to start, a StopRun), once per run (see the file comment); it
  // should return quickly (acks are read on the same thread). Default: none
  // (control messages ignored).
  std::function<void(const v1::CoordinatorMessage&)> on_control;
};

struct AgentStreamStats {
  uint64_t sent_total = 0;         // Items given to Send().
  uint64_t last_sequence = 0;      // Sequence of the newest item (0: none yet).
  uint64_t acked_sequence = 0;     // Everything up to here is stored.
  uint64_t buffered = 0;           // Items waiting for their ack.
  uint64_t dropped = 0;            // Items discarded because the buffer was full.
  uint64_t resent = 0;             // Items written again after a reconnect.
  uint64_t connects = 0;           // Successful registrations.
  uint64_t controls = 0;           // Control messages given to on_control.
  uint64_t repeated_controls = 0;  // Control messages dropped as already delivered.
  bool connected = false;
  // Coordinator clock minus local clock, from the ping with the shortest
  // round trip of the latest connection; empty before the first ping.
  std::optional<std::chrono::nanoseconds> clock_offset;
  std::optional<std::chrono::nanoseconds> round_trip;
  // Why the latest connection attempt or stream failed; empty if none did.
  std::string last_error;
};

class AgentStream {
 public:
  // Starts the background delivery thread. Connection failures are retried
  // forever (see stats().last_error); Send() works before any connection.
  explicit AgentStream(AgentStreamOptions options);

  // Stop(): undelivered items are lost (call Flush() first to wait for them).
  ~AgentStream();

  AgentStream(const AgentStream&) = delete;
  AgentStream& operator=(const AgentStream&) = delete;

  // Queues `message` after setting its source_id and sequence; returns the
  // sequence. Never blocks on the network. When the buffer is full the
  // oldest buffered item is dropped.
  uint64_t Send(v1::AgentMessage message);

  // Waits until every item sent so far is acknowledged, or `timeout` passes.
  // Returns true when all were acknowledged.
  bool Flush(std::chrono::milliseconds timeout);

  // Stops the delivery thread and closes the stream. Idempotent.
  void Stop();

  AgentStreamStats stats() const;

  const std::string& source_id() const { return options_.source_id; }

 private:
  // Background thread: connect, stream, reconnect with backoff, until Stop().
  void Run();
  // One connection: register, ping, stream until it breaks or Stop().
  // Returns true if it registered (the backoff then starts over).
  bool RunConnection();
  // Estimates the clock offset with options_.clock_pings round trips.
  void MeasureClock(v1::Coordinator::Stub& stub);
  // Forgets buffered items up to `sequence`. Requires mutex_.
  void ApplyAckLocked(uint64_t sequence);
  // Appends with the next sequence, dropping the oldest when full. Requires
  // mutex_.
  uint64_t PushLocked(v1::AgentMessage message);
  // Whether a control message is new (and remembers it): RunSpecs and
  // StopRuns are keyed by run id. Requires mutex_.
  bool FirstDeliveryLocked(const v1::CoordinatorMessage& message);
  // Adds caller metadata (authorization) to a call.
  void Authorize(grpc::ClientContext& context) const;
  // Authorizes `context` and makes it the one Stop() cancels; false when
  // stopping (the call must not start).
  bool BeginCall(grpc::ClientContext& context);
  void EndCall();

  AgentStreamOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;      // Buffer, ack, connection or stop changed.
  std::deque<v1::AgentMessage> buffer_;  // Unacknowledged, ascending sequence.
  uint64_t next_sequence_ = 1;
  uint64_t highest_written_ = 0;  // Highest sequence ever written to a stream.
  // Dropped sequences not yet reported: first..last (0 when none).
  uint64_t unreported_drop_first_ = 0;
  uint64_t unreported_drop_last_ = 0;
  bool stream_broken_ = false;
  bool stopping_ = false;
  grpc::ClientContext* active_context_ = nullptr;  // For Stop() to cancel.
  AgentStreamStats stats_;
  // Keys of delivered control messages, oldest first (bounded).
  std::set<std::string> delivered_controls_;
  std::deque<std::string> delivered_order_;

  std::thread thread_;
  std::once_flag joined_;
};

}  // namespace tpslab::agent

#endif  // TPSLAB_COMMON_AGENT_AGENT_STREAM_H_
