// The `analyzer pcap` subcommand: FTP and TCP analysis of a pcap or pcapng
// capture.
//
//   analyzer pcap FILE                      tables: sessions, transfers,
//                                           response times, TCP, warnings
//   analyzer pcap FILE --json               the same as one JSON document
//   analyzer pcap FILE --fields frame.number,tcp.stream,ftp.request.command,...
//                                           tab-separated lines, one per FTP
//                                           control segment, in frame order:
//                                           the lines of `tshark -r FILE -Y ftp
//                                           -T fields -e ...` (with `-d
//                                           tcp.port==N,ftp` for FTP off port 21)
//   --ftp-port N (repeatable)               treat port N as FTP whatever the
//                                           content (port 21 always is)
//
// Wiring it into a binary:
//
//   tpslab::app::App app("analyzer", "...", "0.1.0");
//   tpslab::analyzer::pcap::AddPcapCommand(app);
//   return app.Run(argc, argv);
#ifndef TPSLAB_ANALYZER_PCAP_PCAP_COMMAND_H_
#define TPSLAB_ANALYZER_PCAP_PCAP_COMMAND_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/app/cli.h"

namespace tpslab::analyzer::pcap {

struct PcapCommandOptions {
  // The capture to read. Default empty: required.
  std::string file;
  // Print JSON instead of tables. Default false.
  bool json = false;
  // Comma-separated tshark field names; non-empty selects fields mode.
  // Default empty.
  std::string fields;
  // Extra FTP control ports besides 21. Default none.
  std::vector<uint16_t> ftp_ports;
  // Connections tracked at once (memory bound). Default 200000.
  size_t max_connections = 200'000;
};

// Runs the analysis; results go to `out`, warnings and errors to `err`.
// Returns app::kExitOk, or app::kExitFailure when the file cannot be read
// as a capture, app::kExitUsage for a bad field list or --json with
// --fields.
int RunPcapCommand(const PcapCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `pcap` subcommand to `app`, printing to stdout and stderr.
void AddPcapCommand(app::App& app);

}  // namespace tpslab::analyzer::pcap

#endif  // TPSLAB_ANALYZER_PCAP_PCAP_COMMAND_H_
