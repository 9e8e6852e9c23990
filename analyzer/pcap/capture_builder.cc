#include "analyzer/pcap/capture_builder.h"

namespace tpslab::analyzer::pcap {

CaptureBuilder::CaptureBuilder(int link_type, int64_t start_ns, int64_t step_ns,
                               uint32_t snap_length)
    : link_type_(link_type),
      now_ns_(start_ns),
      step_ns_(step_ns),
      writer_(link_type, /*nanosecond=*/true, snap_length) {}

void CaptureBuilder::Write(Conversation& c, Side from, uint32_t seq, uint8_t flags,
                           std::string_view data) {
  const Side to = from == kClient ? kServer : kClient;
  TcpSegment segment;
  segment.src = c.ends[from].address;
  segment.dst = c.ends[to].address;
  segment.src_port = c.ends[from].port;
  segment.dst_port = c.ends[to].port;
  segment.seq = seq;
  segment.ack = (flags & kTcpAck) ? c.next_seq[to] : 0;
  segment.flags = flags;
  segment.window = 65535;
  segment.payload = data;
  if (flags & kTcpSyn) {
    segment.mss = 1460;
    segment.window_scale = 7;
  }
  writer_.Add(now_ns_, BuildFrame(link_type_, segment));
  now_ns_ += step_ns_;
  ++frames_;
}

int CaptureBuilder::Connect(const Endpoint& client, const Endpoint& server) {
  Conversation c;
  c.ends[kClient] = client;
  c.ends[kServer] = server;
  const uint32_t id = static_cast<uint32_t>(conversations_.size());
  c.next_seq[kClient] = 1000 + id * 7919;
  c.next_seq[kServer] = 0x7fff0000u + id * 104729;
  Write(c, kClient, c.next_seq[kClient], kTcpSyn, "");
  ++c.next_seq[kClient];
  Write(c, kServer, c.next_seq[kServer], kTcpSyn | kTcpAck, "");
  ++c.next_seq[kServer];
  Write(c, kClient, c.next_seq[kClient], kTcpAck, "");
  conversations_.push_back(c);
  return static_cast<int>(id);
}

void CaptureBuilder::Send(int id, Side from, std::string_view data, size_t mss) {
  Conversation& c = conversations_[static_cast<size_t>(id)];
  do {
    const std::string_view piece = mss > 0 ? data.substr(0, mss) : data;
    Write(c, from, c.next_seq[from], kTcpAck | kTcpPsh, piece);
    c.next_seq[from] += static_cast<uint32_t>(piece.size());
    data.remove_prefix(piece.size());
  } while (!data.empty());
}

void CaptureBuilder::Ack(int id, Side by) {
  Conversation& c = conversations_[static_cast<size_t>(id)];
  Write(c, by, c.next_seq[by], kTcpAck, "");
}

void CaptureBuilder::SendAt(int id, Side from, int64_t offset, std::string_view data) {
  Conversation& c = conversations_[static_cast<size_t>(id)];
  Write(c, from, c.next_seq[from] + static_cast<uint32_t>(offset), kTcpAck | kTcpPsh, data);
}

void CaptureBuilder::Skip(int id, Side from, uint32_t bytes) {
  conversations_[static_cast<size_t>(id)].next_seq[from] += bytes;
}

void CaptureBuilder::Close(int id, Side first) {
  Conversation& c = conversations_[static_cast<size_t>(id)];
  const Side second = first == kClient ? kServer : kClient;
  Write(c, first, c.next_seq[first], kTcpFin | kTcpAck, "");
  ++c.next_seq[first];
  Write(c, second, c.next_seq[second], kTcpFin | kTcpAck, "");
  ++c.next_seq[second];
  Write(c, first, c.next_seq[first], kTcpAck, "");
}

void CaptureBuilder::Reset(int id, Side from) {
  Conversation& c = conversations_[static_cast<size_t>(id)];
  Write(c, from, c.next_seq[from], kTcpRst | kTcpAck, "");
}

}  // namespace tpslab::analyzer::pcap
