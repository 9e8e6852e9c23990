// Builds captures of TCP conversations packet by packet, with correct
// sequence and acknowledgement numbers, for tests and for make_capture.
// Conversations can be bent to make edge cases: segments sent out of
// order, retransmitted, overlapping, lost or reset.
//
//   CaptureBuilder capture(kLinkEthernet);
//   int control = capture.Connect(client, server);
//   capture.Send(control, CaptureBuilder::kServer, "220 ready\r\n");
//   capture.Send(control, CaptureBuilder::kClient, "USER ftp\r\n");
//   capture.Close(control);
//   absl::Status written = capture.writer().WriteFile(path);
#ifndef TPSLAB_ANALYZER_PCAP_CAPTURE_BUILDER_H_
#define TPSLAB_ANALYZER_PCAP_CAPTURE_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/pcap/packet_decoder.h"
#include "analyzer/pcap/pcap_writer.h"
#include "analyzer/pcap/tcp_tracker.h"

namespace tpslab::analyzer::pcap {

class CaptureBuilder {
 public:
  // Which side sends.
  enum Side { kClient = 0, kServer = 1 };

  // Frames go to a PcapWriter for `link_type` that keeps `snap_length`
  // bytes of each; the clock starts at `start_ns` and advances `step_ns` per
  // packet (defaults: 2026-01-01, 50 us, 262144 bytes).
  explicit CaptureBuilder(int link_type, int64_t start_ns = 1'767'225'600'000'000'000,
                          int64_t step_ns = 50'000, uint32_t snap_length = 262144);

  // Writes the three-way handshake; returns the connection's id.
  int Connect(const Endpoint& client, const Endpoint& server);
  // Sends `data` as one segment (no ACK from the peer), or several of at
  // most `mss` bytes when mss > 0.
  void Send(int id, Side from, std::string_view data, size_t mss = 0);
  // The peer acknowledges everything `from` sent.
  void Ack(int id, Side by);
  // Writes a segment at `offset` bytes from the side's next sequence number
  // (negative: already sent) without advancing it; for out-of-order,
  // retransmitted and overlapping segments.
  void SendAt(int id, Side from, int64_t offset, std::string_view data);
  // Advances the side's next sequence number as if `bytes` had been sent
  // (their packets lost before the capture point).
  void Skip(int id, Side from, uint32_t bytes);
  // FIN from `first`, FIN/ACK from the other side, final ACK.
  void Close(int id, Side first = kClient);
  // RST from `from`.
  void Reset(int id, Side from);
  // Moves the clock forward.
  void Wait(int64_t ns) { now_ns_ += ns; }
  int64_t now_ns() const { return now_ns_; }

  PcapWriter& writer() { return writer_; }
  // Frames written so far.
  uint64_t frames() const { return frames_; }

 private:
  struct Conversation {
    Endpoint ends[2];
    uint32_t next_seq[2];
  };
  void Write(Conversation& c, Side from, uint32_t seq, uint8_t flags, std::string_view data);

  int link_type_;
  int64_t now_ns_;
  int64_t step_ns_;
  PcapWriter writer_;
  std::vector<Conversation> conversations_;
  uint64_t frames_ = 0;
};

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_CAPTURE_BUILDER_H_
