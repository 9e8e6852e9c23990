#include "analyzer/pcap/pcap_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "analyzer/pcap/capture_analysis.h"
#include "analyzer/pcap/capture_report.h"
#include "analyzer/pcap/pcap_reader.h"

namespace tpslab::analyzer::pcap {

int RunPcapCommand(const PcapCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.json && !options.fields.empty()) {
    err << "analyzer pcap: --json and --fields exclude each other\n";
    return app::kExitUsage;
  }
  FieldList fields;
  if (!options.fields.empty()) {
    absl::StatusOr<FieldList> parsed = ParseFieldList(options.fields);
    if (!parsed.ok()) {
      err << "analyzer pcap: --fields: " << parsed.status().message() << "\n";
      return app::kExitUsage;
    }
    fields = *std::move(parsed);
  }
  absl::StatusOr<std::unique_ptr<PcapReader>> reader = PcapReader::Open(options.file);
  if (!reader.ok()) {
    err << "analyzer pcap: " << reader.status().message() << "\n";
    return app::kExitFailure;
  }
  AnalyzeOptions analyze;
  for (uint16_t port : options.ftp_ports) analyze.ftp.control_ports.push_back(port);
  analyze.tcp.max_connections = options.max_connections;

  FtpFrameCallback on_frame;
  std::string buffer;
  if (!fields.empty()) {
    on_frame = [&](const FtpFrame& frame, const CaptureSummary& summary) {
      buffer += FormatFieldLine(fields, frame, summary);
      buffer.push_back('\n');
      if (buffer.size() >= (1 << 16)) {
        out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        buffer.clear();
      }
    };
  }
  const CaptureAnalysis analysis = AnalyzeCapture(**reader, analyze, on_frame);
  if (!fields.empty()) {
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    for (const std::string& warning : Warnings(analysis)) {
      err << "analyzer pcap: warning: " << warning << "\n";
    }
  } else if (options.json) {
    WriteJson(analysis, out);
  } else {
    out << FormatTables(analysis);
  }
  out.flush();
  return app::kExitOk;
}

void AddPcapCommand(app::App& app) {
  auto options = std::make_shared<PcapCommandOptions>();
  CLI::App& command =
      app.AddCommand("pcap", "FTP and TCP analysis of a pcap/pcapng capture",
                     [options] { return RunPcapCommand(*options, std::cout, std::cerr); });
  command.add_option("file", options->file, "Capture file (pcap or pcapng)")->required();
  command.add_flag("--json", options->json, "Print the analysis as JSON");
  command.add_option("--fields", options->fields,
                     "Comma-separated tshark field names: print one tab-separated line per FTP "
                     "control segment, as tshark -Y ftp -T fields -e ... does");
  command.add_option("--ftp-port", options->ftp_ports,
                     "Treat this TCP port as FTP whatever the content (repeatable; 21 always is)");
  command
      .add_option("--max-connections", options->max_connections, "TCP connections tracked at once")
      ->capture_default_str();
}

}  // namespace tpslab::analyzer::pcap
