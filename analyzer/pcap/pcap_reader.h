// Reads frames from a pcap or pcapng capture through libpcap, with
// nanosecond timestamps. A truncated or corrupt file ends the frames early;
// error() then says why and where, and the frames read so far stay valid.
//
//   absl::StatusOr<std::unique_ptr<PcapReader>> reader = PcapReader::Open("ftp.pcapng");
//   if (!reader.ok()) return reader.status();
//   Frame frame;
//   while ((*reader)->Next(&frame)) Handle((*reader)->link_type(), frame);
//   if (!(*reader)->error().empty()) Warn((*reader)->error());
#ifndef TPSLAB_ANALYZER_PCAP_PCAP_READER_H_
#define TPSLAB_ANALYZER_PCAP_PCAP_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"

struct pcap;

namespace tpslab::analyzer::pcap {

// One captured frame. `data` stays valid until the next Next() call.
struct Frame {
  // 1-based position in the file, as Wireshark's frame.number.
  uint64_t number = 0;
  // Capture time, nanoseconds since the Unix epoch, clamped to the years
  // 1970 to 2255.
  int64_t time_ns = 0;
  // Length on the wire; data.size() is the captured length.
  uint32_t wire_length = 0;
  std::span<const uint8_t> data;
};

class PcapReader {
 public:
  // Opens a pcap or pcapng file. Fails with NotFound / InvalidArgument
  // naming the file and libpcap's reason.
  static absl::StatusOr<std::unique_ptr<PcapReader>> Open(const std::string& path);

  // Reads a capture from `file`, which the reader closes (for fmemopen()
  // buffers in tests and fuzzing). `name` is used in messages.
  static absl::StatusOr<std::unique_ptr<PcapReader>> OpenFile(std::FILE* file,
                                                              const std::string& name);

  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Reads the next frame into *frame; returns false at the end of the
  // capture or when the rest cannot be read (then error() is set).
  bool Next(Frame* frame);

  // The DLT_* link type of the capture's first interface.
  int link_type() const { return link_type_; }
  // The capture's snap length.
  int snap_length() const { return snap_length_; }
  // Empty, or why reading stopped before the end of the file
  // ("ftp.pcap: after frame 12: truncated dump file; ...").
  const std::string& error() const { return error_; }

 private:
  PcapReader(::pcap* handle, std::string name);

  ::pcap* handle_;
  std::string name_;
  int link_type_;
  int snap_length_;
  uint64_t frames_ = 0;
  std::string error_;
};

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_PCAP_READER_H_
