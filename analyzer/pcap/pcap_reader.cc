#include "analyzer/pcap/pcap_reader.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tpslab::analyzer::pcap {

absl::StatusOr<std::unique_ptr<PcapReader>> PcapReader::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open capture ", path, ": ", std::strerror(errno)));
  }
  return OpenFile(file, path);
}

absl::StatusOr<std::unique_ptr<PcapReader>> PcapReader::OpenFile(std::FILE* file,
                                                                 const std::string& name) {
  char error[PCAP_ERRBUF_SIZE] = {};
  ::pcap* handle =
      pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, error);
  if (handle == nullptr) {
    std::fclose(file);
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not a readable pcap or pcapng capture: ", error));
  }
  return std::unique_ptr<PcapReader>(new PcapReader(handle, name));
}

PcapReader::PcapReader(::pcap* handle, std::string name)
    : handle_(handle),
      name_(std::move(name)),
      link_type_(pcap_datalink(handle)),
      snap_length_(pcap_snapshot(handle)) {}

PcapReader::~PcapReader() { pcap_close(handle_); }

bool PcapReader::Next(Frame* frame) {
  if (!error_.empty()) return false;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int result = pcap_next_ex(handle_, &header, &data);
  if (result == 1) {
    ++frames_;
    frame->number = frames_;
    // pcapng allows any 64-bit time: clamp the seconds to [0, 9e9] (up to
    // year 2255) so that times and their differences fit in int64_t.
    constexpr int64_t kMaxSeconds = 9'000'000'000;
    const int64_t seconds = std::clamp<int64_t>(header->ts.tv_sec, 0, kMaxSeconds);
    const int64_t fraction = std::clamp<int64_t>(header->ts.tv_usec, 0, 999'999'999);
    frame->time_ns = seconds * 1'000'000'000 + fraction;
    frame->wire_length = header->len;
    frame->data = std::span<const uint8_t>(data, header->caplen);
    return true;
  }
  if (result == PCAP_ERROR) {
    error_ = absl::StrCat(name_, ": after frame ", frames_, ": ", pcap_geterr(handle_));
  }
  return false;
}

}  // namespace tpslab::analyzer::pcap
