#include "analyzer/pcap/tcp_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tpslab::analyzer::pcap {
namespace {

constexpr int64_t kMs = 1'000'000;

class RecordingSink : public TcpSink {
 public:
  bool OnData(Connection& connection, int direction, std::string_view bytes,
              const Frame&) override {
    data[connection.stream][direction] += bytes;
    return keep_reassembling;
  }
  void OnGap(Connection& connection, int direction, uint64_t bytes) override {
    data[connection.stream][direction] += "<gap " + std::to_string(bytes) + ">";
  }
  void OnSegment(Connection& connection, int, const Frame& frame, const TcpSegment&,
                 uint32_t analysis) override {
    streams.push_back(connection.stream);
    flags[frame.number] = analysis;
  }
  void OnClose(Connection& connection) override { closed.push_back(connection); }

  bool keep_reassembling = true;
  std::map<uint64_t, std::string[2]> data;
  std::vector<uint64_t> streams;
  std::map<uint64_t, uint32_t> flags;
  std::vector<Connection> closed;
};

// Drives a tracker with segments between a client and a server.
class Wire {
 public:
  explicit Wire(TcpSink& sink, TrackerOptions options = {}) : tracker_(options, sink) {}

  // Sends a segment from the client (or the server) at time `ms`.
  uint64_t Send(bool from_client, int64_t ms, uint32_t seq, uint32_t ack, uint8_t flags,
                std::string_view payload = "", uint16_t window = 1000,
                uint16_t client_port = 5000) {
    TcpSegment segment;
    const Endpoint client{IpAddress::V4(10, 0, 0, 1), client_port};
    const Endpoint server{IpAddress::V4(10, 0, 0, 2), 21};
    const Endpoint& src = from_client ? client : server;
    const Endpoint& dst = from_client ? server : client;
    segment.src = src.address;
    segment.dst = dst.address;
    segment.src_port = src.port;
    segment.dst_port = dst.port;
    segment.seq = seq;
    segment.ack = ack;
    segment.flags = flags;
    segment.window = window;
    segment.payload = payload;
    segment.payload_length = static_cast<uint32_t>(payload.size());
    Frame frame;
    frame.number = ++frames_;
    frame.time_ns = base_ns_ + ms * kMs;
    tracker_.Process(frame, segment);
    return frame.number;
  }

  // The three-way handshake at t=0, 10, 20 ms: client ISN 100, server 500.
  void Handshake(uint16_t client_port = 5000) {
    Send(true, 0, 100, 0, kTcpSyn, "", 1000, client_port);
    Send(false, 10, 500, 101, kTcpSyn | kTcpAck, "", 1000, client_port);
    Send(true, 20, 101, 501, kTcpAck, "", 1000, client_port);
  }

  TcpTracker& tracker() { return tracker_; }

 private:
  TcpTracker tracker_;
  uint64_t frames_ = 0;
  int64_t base_ns_ = 1'700'000'000'000'000'000;
};

TEST(TcpTracker, NumbersStreamsInOrderOfFirstPacketAndOnNewSyn) {
  RecordingSink sink;
  Wire wire(sink);
  wire.Send(true, 0, 100, 0, kTcpSyn, "", 1000, 5000);
  wire.Send(true, 1, 900, 0, kTcpSyn, "", 1000, 6000);
  wire.Send(true, 2, 100, 0, kTcpSyn, "", 1000, 5000);   // Retransmitted SYN: same stream.
  wire.Send(true, 3, 7000, 0, kTcpSyn, "", 1000, 5000);  // New ISN: a new connection.
  EXPECT_EQ(sink.streams, (std::vector<uint64_t>{0, 1, 0, 2}));
  ASSERT_EQ(sink.closed.size(), 1u);
  EXPECT_EQ(sink.closed[0].stream, 0u);
  wire.tracker().Finish();
  EXPECT_EQ(sink.closed.size(), 3u);
  EXPECT_EQ(wire.tracker().stats().connections, 3u);
}

TEST(TcpTracker, ReassemblesOutOfOrderOverlappingAndRetransmittedData) {
  RecordingSink sink;
  Wire wire(sink);
  wire.Handshake();
  wire.Send(true, 30, 101, 501, kTcpAck, "USER ");
  wire.Send(true, 31, 110, 501, kTcpAck, "ymous\r\n");  // Ahead: buffered.
  wire.Send(true, 32, 104, 501, kTcpAck, "R anon");     // Overlaps both sides.
  wire.Send(true, 90, 101, 501, kTcpAck, "USER ");      // Old: nothing new.
  wire.Send(true, 91, 117, 501, kTcpAck, "PASS x\r\n");
  wire.tracker().Finish();
  EXPECT_EQ(sink.data[0][0], "USER anonymous\r\nPASS x\r\n");
  ASSERT_EQ(sink.closed.size(), 1u);
  EXPECT_EQ(sink.closed[0].directions[0].stream_bytes, 24u);
  EXPECT_EQ(sink.closed[0].directions[0].payload_bytes, 5u + 7 + 6 + 5 + 8);
}

TEST(TcpTracker, ClassifiesLikeWireshark) {
  RecordingSink sink;
  Wire wire(sink);
  wire.Handshake();  // Initial RTT 20 ms: out-of-order threshold.
  wire.Send(false, 30, 501, 101, kTcpAck, "220 a\r\n");                        // 4
  const uint64_t lost = wire.Send(false, 31, 515, 101, kTcpAck, "220 c\r\n");  // 5: gap
  const uint64_t ooo = wire.Send(false, 32, 508, 101, kTcpAck, "220 b\r\n");   // 6
  wire.Send(true, 40, 101, 522, kTcpAck);                                      // 7
  const uint64_t spurious = wire.Send(false, 200, 501, 101, kTcpAck, "220 a\r\n");
  wire.Send(false, 201, 522, 101, kTcpAck, "x\r\n");  // 525
  wire.Send(false, 202, 525, 101, kTcpAck, "y\r\n");  // lost by the client
  wire.Send(false, 203, 528, 101, kTcpAck, "z\r\n");
  wire.Send(true, 204, 101, 525, kTcpAck);
  const uint64_t dup1 = wire.Send(true, 205, 101, 525, kTcpAck);
  const uint64_t dup2 = wire.Send(true, 206, 101, 525, kTcpAck);
  const uint64_t fast = wire.Send(false, 207, 525, 101, kTcpAck, "y\r\n");
  const uint64_t retransmission = wire.Send(false, 900, 528, 101, kTcpAck, "z\r\n");
  const uint64_t zero = wire.Send(true, 901, 101, 531, kTcpAck, "", 0);
  EXPECT_EQ(sink.flags[lost], kLostSegment);
  EXPECT_EQ(sink.flags[ooo], kOutOfOrder);
  EXPECT_EQ(sink.flags[spurious], kSpuriousRetransmission);
  EXPECT_EQ(sink.flags[dup1], kDuplicateAck);
  EXPECT_EQ(sink.flags[dup2], kDuplicateAck);
  EXPECT_EQ(sink.flags[fast], kFastRetransmission);
  EXPECT_EQ(sink.flags[retransmission], kRetransmission);
  EXPECT_EQ(sink.flags[zero], kZeroWindow);
  wire.tracker().Finish();
  ASSERT_EQ(sink.closed.size(), 1u);
  const Connection& c = sink.closed[0];
  EXPECT_EQ(c.directions[1].retransmissions, 1u);
  EXPECT_EQ(c.directions[1].fast_retransmissions, 1u);
  EXPECT_EQ(c.directions[1].spurious_retransmissions, 1u);
  EXPECT_EQ(c.directions[1].out_of_order, 1u);
  EXPECT_EQ(c.directions[1].lost_segments, 1u);
  EXPECT_EQ(c.directions[0].duplicate_acks, 2u);
  EXPECT_EQ(c.directions[0].zero_windows, 1u);
  EXPECT_EQ(c.SynAckRttNs(), 10 * kMs);
  EXPECT_EQ(c.HandshakeRttNs(), 20 * kMs);
  EXPECT_TRUE(c.saw_syn);
  EXPECT_EQ(c.client.ToString(), "10.0.0.1:5000");
  EXPECT_EQ(c.server.ToString(), "10.0.0.2:21");
}

TEST(TcpTracker, MeasuresAckRoundTrips) {
  RecordingSink sink;
  Wire wire(sink);
  wire.Handshake();
  wire.Send(true, 30, 101, 501, kTcpAck, "NOOP\r\n");
  wire.Send(false, 35, 501, 107, kTcpAck, "200 ok\r\n");  // ACK after 5 ms.
  wire.Send(true, 45, 107, 509, kTcpAck);                 // ACK after 10 ms.
  wire.tracker().Finish();
  const RttHistogram& rtt = sink.closed.at(0).ack_rtt;
  // SYN acked by the SYN/ACK and SYN/ACK by the handshake ACK (10 ms
  // each), then 5 and 10 ms.
  EXPECT_EQ(rtt.count(), 4u);
  EXPECT_EQ(rtt.min_ns(), 5 * kMs);
  EXPECT_EQ(rtt.max_ns(), 10 * kMs);
  EXPECT_EQ(rtt.Quantile(0.0), 5 * kMs);
  EXPECT_EQ(rtt.Quantile(1.0), 10 * kMs);
  EXPECT_NEAR(static_cast<double>(rtt.Quantile(0.5)), 10.0 * kMs, 0.07 * 10 * kMs);
}

TEST(TcpTracker, BoundsBufferingWithGaps) {
  RecordingSink sink;
  TrackerOptions options;
  options.max_buffered_bytes = 8;
  Wire wire(sink, options);
  wire.Handshake();
  wire.Send(true, 30, 101, 501, kTcpAck, "ab");
  wire.Send(true, 31, 113, 501, kTcpAck, "01234");  // 10 bytes missing before it.
  wire.Send(true, 32, 118, 501, kTcpAck, "56789");  // Over the bound: flushed with a gap.
  wire.Send(true, 33, 123, 501, kTcpAck, "!");
  wire.tracker().Finish();
  EXPECT_EQ(sink.data[0][0], "ab<gap 10>0123456789!");
  EXPECT_EQ(wire.tracker().stats().buffer_overflows, 1u);
  EXPECT_EQ(wire.tracker().stats().gap_bytes, 10u);
}

TEST(TcpTracker, StopsReassemblyWhenTheSinkSaysSo) {
  RecordingSink sink;
  sink.keep_reassembling = false;
  Wire wire(sink);
  wire.Handshake();
  wire.Send(true, 30, 101, 501, kTcpAck, "GET / HTTP/1.1\r\n");
  wire.Send(true, 31, 200, 501, kTcpAck, "later");  // Ahead, but not buffered.
  wire.Send(true, 32, 117, 501, kTcpAck, "more");
  wire.tracker().Finish();
  EXPECT_EQ(sink.data[0][0], "GET / HTTP/1.1\r\n");
  EXPECT_EQ(wire.tracker().stats().peak_buffered_bytes, 0u);
}

TEST(TcpTracker, ForgetsIdleAndExcessConnections) {
  RecordingSink sink;
  TrackerOptions options;
  options.max_connections = 2;
  options.idle_timeout_ns = 1000 * kMs;
  Wire wire(sink, options);
  wire.Send(true, 0, 1, 0, kTcpSyn, "", 1000, 5001);
  wire.Send(true, 1, 1, 0, kTcpSyn, "", 1000, 5002);
  wire.Send(true, 2, 1, 0, kTcpSyn, "", 1000, 5003);  // Evicts 5001.
  ASSERT_EQ(sink.closed.size(), 1u);
  EXPECT_EQ(sink.closed[0].client.port, 5001);
  EXPECT_EQ(wire.tracker().stats().evicted_capacity, 1u);
  wire.Send(true, 5000, 1, 0, kTcpSyn, "", 1000, 5004);  // The others are idle.
  EXPECT_EQ(sink.closed.size(), 3u);
  EXPECT_EQ(wire.tracker().stats().evicted_idle, 2u);
  EXPECT_EQ(wire.tracker().size(), 1u);
  EXPECT_EQ(wire.tracker().stats().peak_connections, 2u);
}

TEST(TcpTracker, ManyConcurrentFlowsStayBounded) {
  RecordingSink sink;
  sink.keep_reassembling = false;
  TrackerOptions options;
  options.max_connections = 100'000;
  Wire wire(sink, options);
  for (uint32_t i = 0; i < 120'000; ++i) {
    wire.Send(true, 0, i, 0, kTcpSyn, "", 1000, static_cast<uint16_t>(i % 60000 + 1));
  }
  EXPECT_EQ(wire.tracker().size(), 60'000u);  // Ports repeat: new SYNs reuse tuples.
  EXPECT_LE(wire.tracker().stats().peak_connections, 100'000u);
}

}  // namespace
}  // namespace tpslab::analyzer::pcap
