// A binary with only the `pcap` and `capture` subcommands, for tests and
// benchmarks of this package; the real entry points are `analyzer pcap` and
// `analyzer capture` (analyzer/main.cc).
#include "analyzer/pcap/capture_command.h"
#include "analyzer/pcap/pcap_command.h"
#include "common/app/cli.h"

int main(int argc, char** argv) {
  tpslab::app::App app("analyzer", "tpslab capture analysis", "0.1.0");
  tpslab::analyzer::pcap::AddPcapCommand(app);
  tpslab::analyzer::pcap::AddCaptureCommand(app);
  return app.Run(argc, argv);
}
