#include "analyzer/pcap/tcp_tracker.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace tpslab::analyzer::pcap {
namespace {

// Sequence number comparisons modulo 2^32.
bool SeqLt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
bool SeqLe(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }
bool SeqGt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

// Wireshark's thresholds: a retransmission within 20 ms of the duplicate
// ACKs is "fast"; older data within the first RTT (3 ms when unknown) of
// the newest is "out-of-order".
constexpr int64_t kFastRetransmissionWindowNs = 20'000'000;
constexpr int64_t kDefaultOutOfOrderNs = 3'000'000;

constexpr int kSubBucketBits = 3;

uint16_t BucketOf(int64_t ns) {
  const uint64_t value = ns < 1 ? 1 : static_cast<uint64_t>(ns);
  const int exponent = 63 - std::countl_zero(value);
  if (exponent < kSubBucketBits) return static_cast<uint16_t>(value);
  const uint64_t sub = (value >> (exponent - kSubBucketBits)) & ((1 << kSubBucketBits) - 1);
  return static_cast<uint16_t>(((exponent - kSubBucketBits + 1) << kSubBucketBits) + sub);
}

int64_t BucketUpperEdge(uint16_t bucket) {
  if (bucket < (1 << kSubBucketBits)) return bucket;
  const int exponent = (bucket >> kSubBucketBits) + kSubBucketBits - 1;
  const uint64_t sub = bucket & ((1 << kSubBucketBits) - 1);
  return static_cast<int64_t>(
      (((1ull << kSubBucketBits) + sub + 1) << (exponent - kSubBucketBits)) - 1);
}

}  // namespace

void RttHistogram::Add(int64_t ns) {
  if (ns < 0) ns = 0;
  if (count_ == 0 || ns < min_ns_) min_ns_ = ns;
  if (ns > max_ns_) max_ns_ = ns;
  ++count_;
  sum_ns_ += static_cast<uint64_t>(ns);
  const uint16_t bucket = BucketOf(ns);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), std::make_pair(bucket, uint32_t{0}));
  if (it != buckets_.end() && it->first == bucket) {
    ++it->second;
  } else {
    buckets_.insert(it, {bucket, 1});
  }
}

int64_t RttHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min_ns_;
  const double target = q * static_cast<double>(count_);
  uint64_t seen = 0;
  for (const auto& [bucket, n] : buckets_) {
    seen += n;
    if (static_cast<double>(seen) >= target) {
      return std::clamp(BucketUpperEdge(bucket), min_ns_, max_ns_);
    }
  }
  return max_ns_;
}

void RttHistogram::Merge(const RttHistogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0 || other.min_ns_ < min_ns_) min_ns_ = other.min_ns_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
  for (const auto& entry : other.buckets_) {
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(),
                               std::make_pair(entry.first, uint32_t{0}));
    if (it != buckets_.end() && it->first == entry.first) {
      it->second += entry.second;
    } else {
      buckets_.insert(it, entry);
    }
  }
}

std::string Endpoint::ToString() const {
  const std::string host = address.ToString();
  return (address.version == 6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Live state of one direction.
struct Direction {
  bool has_next = false;
  uint32_t next_seq = 0;  // Highest sequence number reached + 1.
  int64_t next_seq_ns = 0;
  bool has_ack = false;
  uint32_t last_ack = 0;
  int64_t last_ack_ns = 0;
  bool has_window = false;
  uint16_t window = 0;
  uint32_t duplicate_acks = 0;  // In a row.
  bool has_base = false;
  uint32_t base_seq = 0;  // First sequence number seen (the ISN after a SYN).
  // Segments awaiting the peer's ACK: (sequence after them, capture time),
  // oldest first. A vector: usually a few entries, and nothing allocated
  // for connections without data.
  std::vector<std::pair<uint32_t, int64_t>> unacked;
  // Reassembly: the stream position of the next byte to deliver.
  bool reassembly_started = false;
  uint32_t deliver_seq = 0;
  uint64_t deliver_position = 0;
  // Out-of-order data by stream position: (captured bytes, wire length).
  std::map<uint64_t, std::pair<std::string, uint64_t>> pending;
  size_t pending_bytes = 0;
};

struct TcpTracker::Flow {
  Key key;
  Connection connection;
  Direction directions[2];
  bool reassemble = true;
};

size_t TcpTracker::KeyHash::operator()(const Key& key) const {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](const Endpoint& endpoint) {
    for (size_t i = 0; i < (endpoint.address.version == 6 ? 16u : 4u); ++i) {
      hash = (hash ^ endpoint.address.bytes[i]) * 1099511628211ull;
    }
    hash = (hash ^ endpoint.port) * 1099511628211ull;
  };
  mix(key.a);
  mix(key.b);
  return static_cast<size_t>(hash);
}

TcpTracker::TcpTracker(const TrackerOptions& options, TcpSink& sink)
    : options_(options), sink_(sink) {}

TcpTracker::~TcpTracker() = default;

TcpTracker::Flow& TcpTracker::FindOrCreate(const Frame& frame, const TcpSegment& segment) {
  const Endpoint src{segment.src, segment.src_port};
  const Endpoint dst{segment.dst, segment.dst_port};
  Key key = src < dst ? Key{src, dst} : Key{dst, src};
  auto found = flows_.find(key);
  const bool pure_syn = (segment.flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
  if (found != flows_.end()) {
    Flow& flow = **found->second;
    const int direction = flow.connection.client == src ? 0 : 1;
    const Direction& state = flow.directions[direction];
    // A SYN with a new initial sequence number reuses the 4-tuple for a new
    // connection, as in Wireshark.
    if (!(pure_syn && state.has_base && segment.seq != state.base_seq)) {
      lru_.splice(lru_.end(), lru_, found->second);
      return flow;
    }
    Close(found->second);
  }
  if (lru_.size() >= options_.max_connections && !lru_.empty()) {
    ++stats_.evicted_capacity;
    Close(lru_.begin());
  }
  auto flow = std::make_unique<Flow>();
  flow->key = key;
  Connection& connection = flow->connection;
  connection.stream = stats_.connections++;
  const bool syn_ack = (segment.flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
  connection.client = syn_ack ? dst : src;
  connection.server = syn_ack ? src : dst;
  connection.first_ns = frame.time_ns;
  connection.first_frame = frame.number;
  lru_.push_back(std::move(flow));
  flows_.emplace(key, std::prev(lru_.end()));
  stats_.peak_connections = std::max(stats_.peak_connections, lru_.size());
  return *lru_.back();
}

uint32_t TcpTracker::Analyze(Flow& flow, int direction, const TcpSegment& segment, int64_t now_ns) {
  Direction& fwd = flow.directions[direction];
  Direction& rev = flow.directions[1 - direction];
  Connection& connection = flow.connection;
  DirectionStats& stats = connection.directions[direction];
  const uint32_t length = segment.payload_length;
  const uint8_t flags = segment.flags;
  const bool syn = (flags & kTcpSyn) != 0;
  const bool fin = (flags & kTcpFin) != 0;
  const bool rst = (flags & kTcpRst) != 0;
  const bool control = syn || fin || rst;
  uint32_t analysis = 0;

  if (!fwd.has_base) {
    fwd.has_base = true;
    fwd.base_seq = segment.seq;
  }
  // Handshake timing.
  if (syn && !(flags & kTcpAck) && direction == 0 && connection.syn_ns < 0) {
    connection.saw_syn = true;
    connection.syn_ns = now_ns;
  } else if (syn && (flags & kTcpAck) && direction == 1 && connection.syn_ack_ns < 0) {
    connection.syn_ack_ns = now_ns;
  } else if (!syn && (flags & kTcpAck) && direction == 0 && connection.syn_ack_ns >= 0 &&
             connection.handshake_ack_ns < 0 && rev.has_next && segment.ack == rev.next_seq) {
    connection.handshake_ack_ns = now_ns;
  }

  if (length == 1 && fwd.has_next && segment.seq == fwd.next_seq && rev.has_window &&
      rev.window == 0) {
    analysis |= kZeroWindowProbe;
  }
  if (segment.window == 0 && !control) analysis |= kZeroWindow;
  if (fwd.has_next && SeqGt(segment.seq, fwd.next_seq) && !rst) analysis |= kLostSegment;
  if (length <= 1 && !control && fwd.has_next && segment.seq == fwd.next_seq - 1) {
    analysis |= kKeepAlive;
  }
  const bool same_position = length == 0 && !control && fwd.has_next &&
                             segment.seq == fwd.next_seq && fwd.has_ack && (flags & kTcpAck) &&
                             segment.ack == fwd.last_ack && fwd.has_window;
  if (same_position && segment.window != fwd.window) analysis |= kWindowUpdate;
  if (same_position && segment.window == fwd.window) {
    analysis |= kDuplicateAck;
    ++fwd.duplicate_acks;
  } else {
    fwd.duplicate_acks = 0;
  }

  if ((length > 0 || syn || fin) && fwd.has_next && SeqLt(segment.seq, fwd.next_seq) &&
      !(analysis & kKeepAlive)) {
    const int64_t rtt = connection.HandshakeRttNs();
    const int64_t out_of_order_ns = rtt > 0 ? rtt : kDefaultOutOfOrderNs;
    if (rev.duplicate_acks >= 2 && rev.has_ack && rev.last_ack == segment.seq &&
        now_ns - rev.last_ack_ns < kFastRetransmissionWindowNs) {
      analysis |= kFastRetransmission;
    } else if (now_ns - fwd.next_seq_ns < out_of_order_ns && fwd.next_seq != segment.seq + length) {
      analysis |= kOutOfOrder;
    } else if (length > 0 && rev.has_ack && SeqLe(segment.seq + length, rev.last_ack)) {
      analysis |= kSpuriousRetransmission;
    } else {
      analysis |= kRetransmission;
    }
  }

  const uint32_t next = segment.seq + length + (syn ? 1 : 0) + (fin ? 1 : 0);
  constexpr uint32_t kNoAdvance = kZeroWindowProbe | kKeepAlive;
  if (!(analysis & kNoAdvance) && (!fwd.has_next || SeqGt(next, fwd.next_seq))) {
    if (fwd.has_next) {
      const uint32_t advance = next - fwd.next_seq;
      const uint32_t control_bytes = (syn ? 1 : 0) + (fin ? 1 : 0);
      stats.stream_bytes += advance > control_bytes ? advance - control_bytes : 0;
    } else {
      stats.stream_bytes += length;
    }
    fwd.has_next = true;
    fwd.next_seq = next;
    fwd.next_seq_ns = now_ns;
    if (length > 0 || syn || fin) {
      if (fwd.unacked.size() >= options_.max_unacked) fwd.unacked.erase(fwd.unacked.begin());
      fwd.unacked.emplace_back(next, now_ns);
    }
  }
  fwd.has_window = true;
  fwd.window = segment.window;
  if (flags & kTcpAck) {
    fwd.has_ack = true;
    fwd.last_ack = segment.ack;
    fwd.last_ack_ns = now_ns;
    size_t acked = 0;
    while (acked < rev.unacked.size() && SeqLe(rev.unacked[acked].first, segment.ack)) {
      if (rev.unacked[acked].first == segment.ack) {
        connection.ack_rtt.Add(now_ns - rev.unacked[acked].second);
      }
      ++acked;
    }
    rev.unacked.erase(rev.unacked.begin(),
                      rev.unacked.begin() + static_cast<std::ptrdiff_t>(acked));
  }

  ++stats.segments;
  stats.payload_bytes += length;
  if (analysis & kRetransmission) ++stats.retransmissions;
  if (analysis & kFastRetransmission) ++stats.fast_retransmissions;
  if (analysis & kSpuriousRetransmission) ++stats.spurious_retransmissions;
  if (analysis & kOutOfOrder) ++stats.out_of_order;
  if (analysis & kDuplicateAck) ++stats.duplicate_acks;
  if (analysis & kZeroWindow) ++stats.zero_windows;
  if (analysis & kZeroWindowProbe) ++stats.zero_window_probes;
  if (analysis & kKeepAlive) ++stats.keep_alives;
  if (analysis & kLostSegment) ++stats.lost_segments;
  if (analysis & kWindowUpdate) ++stats.window_updates;
  if (fin) stats.fin = true;
  if (rst) stats.rst = true;
  if (connection.Closed()) {
    // Only late ACKs can follow: release what waits for them.
    for (Direction& state : flow.directions)
      std::vector<std::pair<uint32_t, int64_t>>().swap(state.unacked);
  }
  return analysis;
}

void TcpTracker::Deliver(Flow& flow, int direction, std::string_view bytes, uint64_t wire_length,
                         const Frame& frame) {
  Direction& state = flow.directions[direction];
  if (!bytes.empty() && flow.reassemble &&
      !sink_.OnData(flow.connection, direction, bytes, frame)) {
    StopReassembly(flow);
  }
  if (wire_length > bytes.size()) {
    stats_.gap_bytes += wire_length - bytes.size();
    if (flow.reassemble) sink_.OnGap(flow.connection, direction, wire_length - bytes.size());
  }
  state.deliver_position += wire_length;
  state.deliver_seq += static_cast<uint32_t>(wire_length);
}

void TcpTracker::Reassemble(Flow& flow, int direction, const TcpSegment& segment,
                            const Frame& frame) {
  Direction& state = flow.directions[direction];
  const uint32_t data_seq = segment.seq + ((segment.flags & kTcpSyn) ? 1 : 0);
  if (!state.reassembly_started) {
    state.reassembly_started = true;
    state.deliver_seq = data_seq;
    state.deliver_position = 0;
  }
  if (segment.payload_length == 0) return;
  const int64_t position = static_cast<int64_t>(state.deliver_position) +
                           static_cast<int32_t>(data_seq - state.deliver_seq);
  const int64_t end = position + segment.payload_length;
  if (end <= static_cast<int64_t>(state.deliver_position)) return;  // Already delivered.
  if (position > static_cast<int64_t>(state.deliver_position)) {
    auto [it, inserted] = state.pending.try_emplace(
        static_cast<uint64_t>(position), std::string(segment.payload), segment.payload_length);
    if (!inserted) {
      // Same start: keep the longer copy.
      if (it->second.second >= segment.payload_length) return;
      state.pending_bytes -= it->second.first.size();
      buffered_bytes_ -= it->second.first.size();
      it->second = {std::string(segment.payload), segment.payload_length};
    }
    state.pending_bytes += segment.payload.size();
    buffered_bytes_ += segment.payload.size();
    stats_.peak_buffered_bytes = std::max(stats_.peak_buffered_bytes, buffered_bytes_);
    if (state.pending_bytes > options_.max_buffered_bytes) {
      ++stats_.buffer_overflows;
      Flush(flow, direction, frame);
    }
    return;
  }
  const uint64_t skip = state.deliver_position - static_cast<uint64_t>(position);
  std::string_view bytes = segment.payload;
  bytes = skip < bytes.size() ? bytes.substr(skip) : std::string_view();
  Deliver(flow, direction, bytes, segment.payload_length - skip, frame);
  // Drain what is now in order.
  while (!state.pending.empty() && state.pending.begin()->first <= state.deliver_position) {
    auto node = state.pending.extract(state.pending.begin());
    state.pending_bytes -= node.mapped().first.size();
    buffered_bytes_ -= node.mapped().first.size();
    const uint64_t start = node.key();
    const uint64_t wire = node.mapped().second;
    if (start + wire <= state.deliver_position) continue;
    const uint64_t cut = state.deliver_position - start;
    std::string_view rest = node.mapped().first;
    rest = cut < rest.size() ? rest.substr(cut) : std::string_view();
    Deliver(flow, direction, rest, wire - cut, frame);
  }
}

void TcpTracker::Flush(Flow& flow, int direction, const Frame& frame) {
  Direction& state = flow.directions[direction];
  while (!state.pending.empty()) {
    auto node = state.pending.extract(state.pending.begin());
    state.pending_bytes -= node.mapped().first.size();
    buffered_bytes_ -= node.mapped().first.size();
    const uint64_t start = node.key();
    const uint64_t wire = node.mapped().second;
    if (start > state.deliver_position) {
      const uint64_t gap = start - state.deliver_position;
      Deliver(flow, direction, std::string_view(), gap, frame);
    }
    if (start + wire <= state.deliver_position) continue;
    const uint64_t cut = state.deliver_position - start;
    std::string_view rest = node.mapped().first;
    rest = cut < rest.size() ? rest.substr(cut) : std::string_view();
    Deliver(flow, direction, rest, wire - cut, frame);
  }
}

void TcpTracker::StopReassembly(Flow& flow) {
  flow.reassemble = false;
  for (Direction& state : flow.directions) {
    buffered_bytes_ -= state.pending_bytes;
    state.pending_bytes = 0;
    state.pending.clear();
  }
}

void TcpTracker::Close(FlowList::iterator it) {
  Flow& flow = **it;
  if (flow.reassemble) {
    Frame last;
    last.number = flow.connection.last_frame;
    last.time_ns = flow.connection.last_ns;
    for (int direction = 0; direction < 2; ++direction) Flush(flow, direction, last);
  }
  StopReassembly(flow);
  sink_.OnClose(flow.connection);
  flows_.erase(flow.key);
  lru_.erase(it);
}

void TcpTracker::Expire(int64_t now_ns) {
  while (!lru_.empty()) {
    const Flow& oldest = *lru_.front();
    const int64_t quiet = now_ns - oldest.connection.last_ns;
    const bool linger_over = oldest.connection.Closed() && quiet > options_.closed_linger_ns;
    if (!linger_over && quiet <= options_.idle_timeout_ns) return;
    if (!linger_over) ++stats_.evicted_idle;
    Close(lru_.begin());
  }
}

void TcpTracker::Process(const Frame& frame, const TcpSegment& segment) {
  Expire(frame.time_ns);
  Flow& flow = FindOrCreate(frame, segment);
  Connection& connection = flow.connection;
  const int direction = connection.client == Endpoint{segment.src, segment.src_port} ? 0 : 1;
  connection.last_ns = frame.time_ns;
  connection.last_frame = frame.number;
  const uint32_t analysis = Analyze(flow, direction, segment, frame.time_ns);
  if (flow.reassemble) Reassemble(flow, direction, segment, frame);
  sink_.OnSegment(connection, direction, frame, segment, analysis);
}

void TcpTracker::Finish() {
  std::vector<FlowList::iterator> open;
  for (auto it = lru_.begin(); it != lru_.end(); ++it) open.push_back(it);
  std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
    return (*a)->connection.stream < (*b)->connection.stream;
  });
  for (auto it : open) Close(it);
  assert(buffered_bytes_ == 0);
}

}  // namespace tpslab::analyzer::pcap
