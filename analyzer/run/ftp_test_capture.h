// Writes small pcap files of FTP sessions on loopback shaped like the
// built-in `analyzer run` scenario, for tests of the report's network
// section: each upload session is the TCP handshake, the 220 greeting,
// USER/PASS, EPSV and STOR of `transfer_bytes` over a passive data
// connection, then QUIT; each download session the same with RETR. A packet
// every 100 us from 2026-01-01 00:00:00 UTC, so a file and its analysis are
// the same on every run.
//
// Example:
//   absl::StatusOr<uint64_t> packets = WriteFtpTestCapture(
//       {.uploads = 3, .downloads = 2, .control_port = 2121}, dir / "capture.pcap");
#ifndef TPSLAB_ANALYZER_RUN_FTP_TEST_CAPTURE_H_
#define TPSLAB_ANALYZER_RUN_FTP_TEST_CAPTURE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace tpslab::analyzer {

struct FtpTestCapture {
  // Upload sessions (STOR). Default 1.
  int uploads = 1;
  // Download sessions (RETR), after the uploads. Default 1.
  int downloads = 1;
  // The server's control port. Default 2121.
  uint16_t control_port = 2121;
  // Bytes of each transfer. Default 1024.
  size_t transfer_bytes = 1024;
  // Bytes kept of each frame (the file's snap length). Default 200, as
  // `analyzer run --capture`.
  uint32_t snaplen = 200;
};

// Writes the sessions of `capture` to the pcap file `path` (Ethernet,
// IPv4 127.0.0.1 both ways); returns the number of packets written. Errors
// name the file.
absl::StatusOr<uint64_t> WriteFtpTestCapture(const FtpTestCapture& capture,
                                             const std::string& path);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_FTP_TEST_CAPTURE_H_
