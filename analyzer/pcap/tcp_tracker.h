// TCP connection tracking for capture analysis: numbers connections like
// Wireshark's tcp.stream (in order of their first packet; a new SYN on a
// used 4-tuple starts a new stream), classifies segments as Wireshark's
// tcp.analysis does (retransmission, fast retransmission, spurious
// retransmission, out-of-order, duplicate ACK, zero window, ...), measures
// handshake and ACK round-trip times, and reassembles each direction's byte
// stream for a TcpSink (out-of-order segments buffered up to a bound,
// retransmitted and overlapping bytes delivered once, first copy wins).
//
// Memory is bounded: each direction buffers at most
// TrackerOptions::max_buffered_bytes, sinks stop reassembly of connections
// they do not need, and idle, closed or least recently active connections
// are dropped (after OnClose) when TrackerOptions' limits say so.
//
//   class Printer : public TcpSink { ... };
//   Printer sink;
//   TcpTracker tracker(TrackerOptions{}, sink);
//   while (reader.Next(&frame))
//     if (DecodeFrame(link, frame.data, &segment) == DecodeResult::kOk)
//       tracker.Process(frame, segment);
//   tracker.Finish();  // OnClose for every connection still open
#ifndef TPSLAB_ANALYZER_PCAP_TCP_TRACKER_H_
#define TPSLAB_ANALYZER_PCAP_TCP_TRACKER_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyzer/pcap/packet_decoder.h"
#include "analyzer/pcap/pcap_reader.h"

namespace tpslab::analyzer::pcap {

// An address and TCP port.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
  // Returns "192.0.2.1:21" or "[2001:db8::1]:21".
  std::string ToString() const;
};

// Wireshark tcp.analysis flags of one segment (bits).
enum TcpAnalysisFlag : uint32_t {
  kRetransmission = 1 << 0,          // Data sent before, not fast/spurious/out-of-order.
  kFastRetransmission = 1 << 1,      // Resent after >= 2 duplicate ACKs asking for it.
  kSpuriousRetransmission = 1 << 2,  // Resent data the peer had already acknowledged.
  kOutOfOrder = 1 << 3,              // Older data arriving within one RTT of newer data.
  kDuplicateAck = 1 << 4,            // Same ACK, window and sequence, no data.
  kZeroWindow = 1 << 5,              // Advertises a zero receive window.
  kZeroWindowProbe = 1 << 6,         // One byte sent into the peer's zero window.
  kKeepAlive = 1 << 7,               // Keep-alive (seq one below the next expected).
  kLostSegment = 1 << 8,             // A gap: the previous segment was not captured.
  kWindowUpdate = 1 << 9,            // Pure window change.
};

// Round-trip times in a compact log-linear histogram (8 buckets per power
// of two, about 6% resolution) plus exact count, min, max and sum.
class RttHistogram {
 public:
  // Records one round-trip time in nanoseconds (>= 0).
  void Add(int64_t ns);
  // Number of samples.
  uint64_t count() const { return count_; }
  // Smallest, largest and mean sample; 0 without samples.
  int64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
  int64_t max_ns() const { return max_ns_; }
  int64_t mean_ns() const { return count_ == 0 ? 0 : static_cast<int64_t>(sum_ns_ / count_); }
  // Returns the q-quantile (0 <= q <= 1): the upper edge of its bucket,
  // clamped to [min, max]; 0 without samples.
  int64_t Quantile(double q) const;
  // Adds `other`'s samples to this histogram.
  void Merge(const RttHistogram& other);

 private:
  uint64_t count_ = 0;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
  uint64_t sum_ns_ = 0;
  // (bucket, count), sorted by bucket.
  std::vector<std::pair<uint16_t, uint32_t>> buckets_;
};

// Counters of one direction of a connection.
struct DirectionStats {
  uint64_t segments = 0;       // Segments sent.
  uint64_t payload_bytes = 0;  // Payload bytes on the wire, retransmissions included.
  uint64_t stream_bytes = 0;   // Distinct stream bytes (highest sequence reached).
  uint64_t retransmissions = 0;
  uint64_t fast_retransmissions = 0;
  uint64_t spurious_retransmissions = 0;
  uint64_t out_of_order = 0;
  uint64_t duplicate_acks = 0;
  uint64_t zero_windows = 0;
  uint64_t zero_window_probes = 0;
  uint64_t keep_alives = 0;
  uint64_t lost_segments = 0;
  uint64_t window_updates = 0;
  bool fin = false;  // Sent a FIN.
  bool rst = false;  // Sent a RST.
};

// What is known about one connection. Direction 0 is client -> server.
struct Connection {
  // Wireshark's tcp.stream.
  uint64_t stream = 0;
  // The SYN's sender, else the sender of the first packet seen.
  Endpoint client;
  Endpoint server;
  // Whether the client's SYN was captured.
  bool saw_syn = false;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  uint64_t first_frame = 0;
  uint64_t last_frame = 0;
  DirectionStats directions[2];
  // Handshake times (capture time, ns); -1 when not seen.
  int64_t syn_ns = -1;
  int64_t syn_ack_ns = -1;
  int64_t handshake_ack_ns = -1;
  // Times from a data segment to the ACK covering exactly it.
  RttHistogram ack_rtt;

  // SYN to SYN/ACK (the server side of the handshake), or -1.
  int64_t SynAckRttNs() const { return syn_ack_ns >= 0 && syn_ns >= 0 ? syn_ack_ns - syn_ns : -1; }
  // SYN to the handshake's final ACK (Wireshark's tcp.analysis.initial_rtt), or -1.
  int64_t HandshakeRttNs() const {
    return handshake_ack_ns >= 0 && syn_ns >= 0 ? handshake_ack_ns - syn_ns : -1;
  }
  // Whether both sides sent a FIN or either sent a RST.
  bool Closed() const {
    return (directions[0].fin && directions[1].fin) || directions[0].rst || directions[1].rst;
  }
};

// Receives what the tracker learns. Calls for one frame come in the order
// OnData/OnGap (bytes the segment completes), then OnSegment.
class TcpSink {
 public:
  virtual ~TcpSink() = default;
  // `bytes` are the next in-order bytes of `direction`'s stream. Returns
  // whether the sink wants more of this connection's bytes; false stops
  // reassembly of both directions for good.
  virtual bool OnData(Connection& connection, int direction, std::string_view bytes,
                      const Frame& frame) = 0;
  // `bytes` bytes of `direction`'s stream were never captured (lost, cut by
  // the snap length, or beyond the reassembly buffer).
  virtual void OnGap(Connection& connection, int direction, uint64_t bytes) = 0;
  // Every segment, after analysis; `analysis` holds TcpAnalysisFlag bits.
  virtual void OnSegment(Connection& connection, int direction, const Frame& frame,
                         const TcpSegment& segment, uint32_t analysis) = 0;
  // The tracker forgets `connection` (closed and quiet, idle, evicted, or
  // Finish()); its statistics are final.
  virtual void OnClose(Connection& connection) = 0;
};

struct TrackerOptions {
  // Out-of-order bytes buffered per direction; beyond it the missing range
  // becomes a gap. Default 1 MiB.
  size_t max_buffered_bytes = 1 << 20;
  // A closed connection is forgotten once it is the least recently active
  // and quiet for this long (capture time). Default 60 s.
  int64_t closed_linger_ns = 60'000'000'000;
  // Any connection quiet for this long is forgotten. Default 10 min.
  int64_t idle_timeout_ns = 600'000'000'000;
  // Connections tracked at once; the least recently active one is
  // forgotten to admit a new one. Default 200000.
  size_t max_connections = 200'000;
  // Unacknowledged segments remembered per direction for ACK RTTs.
  // Default 256.
  size_t max_unacked = 256;
};

// Counters of the tracker itself.
struct TrackerStats {
  uint64_t connections = 0;        // Streams numbered.
  uint64_t evicted_idle = 0;       // Forgotten after idle_timeout_ns.
  uint64_t evicted_capacity = 0;   // Forgotten to stay under max_connections.
  uint64_t gap_bytes = 0;          // Stream bytes never captured (all OnGap calls).
  uint64_t buffer_overflows = 0;   // Times max_buffered_bytes forced a gap.
  size_t peak_connections = 0;     // Most connections tracked at once.
  size_t peak_buffered_bytes = 0;  // Most out-of-order bytes buffered at once.
};

class TcpTracker {
 public:
  TcpTracker(const TrackerOptions& options, TcpSink& sink);
  ~TcpTracker();
  TcpTracker(const TcpTracker&) = delete;
  TcpTracker& operator=(const TcpTracker&) = delete;

  // Tracks one decoded segment of `frame`; frames must come in file order.
  void Process(const Frame& frame, const TcpSegment& segment);

  // Flushes buffered bytes (as data and gaps) and closes every connection,
  // in stream order.
  void Finish();

  // Connections tracked now.
  size_t size() const { return lru_.size(); }
  const TrackerStats& stats() const { return stats_; }

 private:
  struct Flow;
  struct Key {
    Endpoint a;
    Endpoint b;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const;
  };
  using FlowList = std::list<std::unique_ptr<Flow>>;

  Flow& FindOrCreate(const Frame& frame, const TcpSegment& segment);
  uint32_t Analyze(Flow& flow, int direction, const TcpSegment& segment, int64_t now_ns);
  void Reassemble(Flow& flow, int direction, const TcpSegment& segment, const Frame& frame);
  void Deliver(Flow& flow, int direction, std::string_view bytes, uint64_t wire_length,
               const Frame& frame);
  void Flush(Flow& flow, int direction, const Frame& frame);
  void StopReassembly(Flow& flow);
  void Close(FlowList::iterator it);
  void Expire(int64_t now_ns);

  TrackerOptions options_;
  TcpSink& sink_;
  FlowList lru_;  // Least recently active first.
  std::unordered_map<Key, FlowList::iterator, KeyHash> flows_;
  size_t buffered_bytes_ = 0;
  TrackerStats stats_;
};

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_TCP_TRACKER_H_
