// Writes classic pcap files (microsecond or nanosecond timestamps) and builds
// the frames that go in them: TCP over IPv4 or IPv6 behind any link layer
// the decoder knows. Used by tests to make captures with exact edge cases
// and by make_capture to synthesise large ones.
//
//   PcapWriter writer(kLinkEthernet);
//   TcpSegment segment;  // addresses, ports, seq, ack, flags, payload
//   writer.Add(1'700'000'000'000'000'000, BuildFrame(kLinkEthernet, segment));
//   absl::Status written = writer.WriteFile(path);
#ifndef TPSLAB_ANALYZER_PCAP_PCAP_WRITER_H_
#define TPSLAB_ANALYZER_PCAP_PCAP_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "analyzer/pcap/packet_decoder.h"

namespace tpslab::analyzer::pcap {

// Returns the frame carrying `segment` on a `link_type` interface (any
// supported type; Ethernet frames get `vlan_tags` 802.1Q tags, default
// none). The IP length fields follow segment.payload_length when it exceeds
// segment.payload.size() (a frame cut by the snap length), else the payload
// size. A window_scale >= 0 or an mss > 0 becomes a TCP option.
std::string BuildFrame(int link_type, const TcpSegment& segment, int vlan_tags = 0);

// Accumulates records of one capture in memory or streams them to a file.
class PcapWriter {
 public:
  // `nanosecond` chooses the nanosecond magic (default) over microseconds.
  explicit PcapWriter(int link_type, bool nanosecond = true, uint32_t snap_length = 262144);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Streams records to `path` from now on instead of keeping them in
  // memory. Fails with an error naming the path.
  absl::Status Stream(const std::string& path);

  // Appends a record captured at `time_ns` (since the epoch). `wire_length`
  // 0 means frame.size(); captured bytes beyond the snap length are cut.
  void Add(int64_t time_ns, std::string_view frame, uint32_t wire_length = 0);

  // Returns the whole file so far (in-memory mode).
  const std::string& bytes() const { return bytes_; }

  // Writes bytes() to `path` (in-memory mode), or flushes and closes the
  // streamed file. Fails with an error naming the path.
  absl::Status WriteFile(const std::string& path);

 private:
  void Put(std::string_view data);

  bool nanosecond_;
  uint32_t snap_length_;
  std::string bytes_;
  std::FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_PCAP_WRITER_H_
