// The `analyzer capture` subcommand: records live traffic with libpcap to a
// file, or to a ring of files of bounded size (the oldest deleted), for
// `analyzer pcap` to analyse.
//
//   analyzer capture -i lo "tcp port 2121" --write ftp.pcap
//       one file, until SIGINT/SIGTERM (or --count / --duration)
//   analyzer capture -i eth0 --write ring.pcap --ring 5 --size 100
//       ring.pcap.000001, ring.pcap.000002, ...: a new file every 100 MB,
//       only the newest 5 kept
//
// Wiring it into a binary (needs root or CAP_NET_RAW to capture):
//
//   tpslab::analyzer::pcap::AddCaptureCommand(app);
#ifndef TPSLAB_ANALYZER_PCAP_CAPTURE_COMMAND_H_
#define TPSLAB_ANALYZER_PCAP_CAPTURE_COMMAND_H_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/app/cli.h"

struct pcap;
struct pcap_dumper;
struct pcap_pkthdr;

namespace tpslab::analyzer::pcap {

struct CaptureCommandOptions {
  // Interface to capture on ("lo", "eth0", "any"). Default empty: required.
  std::string interface;
  // BPF filter (tcpdump syntax). Default empty: every packet.
  std::string filter;
  // Output file; with ring > 0 the prefix of the ring's files.
  // Default "capture.pcap".
  std::string write = "capture.pcap";
  // Files kept in the ring; 0 writes one file of unbounded size. Default 0.
  size_t ring = 0;
  // Size of each ring file in MB (1,000,000 bytes). Default 100.
  uint64_t size_mb = 100;
  // Without a ring: the file's size limit in MB; packets beyond it are
  // counted, not written (the file keeps the capture's beginning). Default
  // 0: no limit.
  uint64_t max_mb = 0;
  // Bytes kept of each packet. Default 262144.
  int snap_length = 262144;
  // Kernel buffer for packets not yet written, in MB. Default 32.
  int buffer_mb = 32;
  // Stop after this many packets; 0: no limit. Default 0.
  uint64_t count = 0;
  // Stop after this long; 0: no limit. Default 0.
  std::chrono::nanoseconds duration{0};
};

// Writes packets of one libpcap handle to a file or a ring of files.
class RingDumper {
 public:
  // `ring` 0: one file at `path`. Otherwise files `path`.000001,
  // `path`.000002, ... each closed once it holds `max_bytes` or more, and
  // only the newest `ring` kept.
  RingDumper(::pcap* handle, std::string path, size_t ring, uint64_t max_bytes);
  ~RingDumper();
  RingDumper(const RingDumper&) = delete;
  RingDumper& operator=(const RingDumper&) = delete;

  // Writes one packet, opening or rotating files as needed. Fails with an
  // error naming the file that cannot be created.
  absl::Status Write(const pcap_pkthdr* header, const uint8_t* data);
  // Flushes and closes the current file.
  void Close();
  // The files currently kept, oldest first.
  const std::vector<std::string>& files() const { return files_; }

 private:
  absl::Status OpenNext();

  ::pcap* handle_;
  std::string path_;
  size_t ring_;
  uint64_t max_bytes_;
  pcap_dumper* dumper_ = nullptr;
  uint64_t sequence_ = 0;
  std::vector<std::string> files_;
};

// Captures until a stop condition or SIGINT/SIGTERM. Prints "capturing on
// IFACE" on `out` once packets flow, and a summary (packets written, dropped
// by the kernel, files; before it "size limit of N MB reached: M packets not
// written" when --max-size cut the file) at the end; errors go to `err`. Returns
// app::kExitOk, or app::kExitFailure when the interface cannot be opened
// (missing, no permission), the filter does not compile, or a file cannot
// be written.
int RunCaptureCommand(const CaptureCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `capture` subcommand to `app`, printing to stdout and stderr.
void AddCaptureCommand(app::App& app);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_CAPTURE_COMMAND_H_
