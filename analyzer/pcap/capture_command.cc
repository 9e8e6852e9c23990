#include "analyzer/pcap/capture_command.h"

#include <pcap/pcap.h>
#include <poll.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tpslab::analyzer::pcap {
namespace {

// Set by SIGINT/SIGTERM; the capture loop polls it at least every 100 ms.
std::atomic<bool> g_stop{false};

extern "C" void StopCapture(int) { g_stop.store(true); }

// pcap_dispatch() state.
struct Loop {
  RingDumper* dumper;
  absl::Status status;
  uint64_t packets = 0;
  uint64_t limit = 0;
  ::pcap* handle;
  uint64_t max_bytes = 0;    // 0: no size limit.
  uint64_t bytes = 24;       // File bytes so far, the pcap file header included.
  uint64_t not_written = 0;  // Packets dropped by the size limit.
};

extern "C" void OnPacket(u_char* user, const pcap_pkthdr* header, const u_char* data) {
  Loop& loop = *reinterpret_cast<Loop*>(user);
  if (!loop.status.ok()) return;
  // Each record is a 16-byte header and the captured bytes.
  const uint64_t record = 16 + header->caplen;
  if (loop.max_bytes > 0 && loop.bytes + record > loop.max_bytes) {
    ++loop.not_written;
    return;
  }
  loop.bytes += record;
  loop.status = loop.dumper->Write(header, data);
  ++loop.packets;
  if (!loop.status.ok() || (loop.limit > 0 && loop.packets >= loop.limit)) {
    pcap_breakloop(loop.handle);
  }
}

}  // namespace

RingDumper::RingDumper(::pcap* handle, std::string path, size_t ring, uint64_t max_bytes)
    : handle_(handle), path_(std::move(path)), ring_(ring), max_bytes_(max_bytes) {}

RingDumper::~RingDumper() { Close(); }

absl::Status RingDumper::OpenNext() {
  Close();
  std::string name = path_;
  if (ring_ > 0) name = absl::StrFormat("%s.%06d", path_, ++sequence_);
  dumper_ = pcap_dump_open(handle_, name.c_str());
  if (dumper_ == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", name, ": ", pcap_geterr(handle_)));
  }
  files_.push_back(name);
  while (ring_ > 0 && files_.size() > ring_) {
    std::remove(files_.front().c_str());
    files_.erase(files_.begin());
  }
  return absl::OkStatus();
}

absl::Status RingDumper::Write(const pcap_pkthdr* header, const uint8_t* data) {
  if (dumper_ == nullptr ||
      (ring_ > 0 && static_cast<uint64_t>(pcap_dump_ftell64(dumper_)) >= max_bytes_)) {
    if (absl::Status opened = OpenNext(); !opened.ok()) return opened;
  }
  pcap_dump(reinterpret_cast<u_char*>(dumper_), header, data);
  return absl::OkStatus();
}

void RingDumper::Close() {
  if (dumper_ != nullptr) {
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
}

int RunCaptureCommand(const CaptureCommandOptions& options, std::ostream& out, std::ostream& err) {
  char error[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<::pcap, void (*)(::pcap*)> handle(pcap_create(options.interface.c_str(), error),
                                                    pcap_close);
  if (handle == nullptr) {
    err << "analyzer capture: cannot open " << options.interface << ": " << error << "\n";
    return app::kExitFailure;
  }
  pcap_set_snaplen(handle.get(), options.snap_length);
  pcap_set_promisc(handle.get(), 0);
  pcap_set_immediate_mode(handle.get(), 1);
  pcap_set_buffer_size(handle.get(), options.buffer_mb * 1'000'000);
  pcap_set_tstamp_precision(handle.get(), PCAP_TSTAMP_PRECISION_NANO);
  if (const int activated = pcap_activate(handle.get()); activated < 0) {
    err << "analyzer capture: cannot capture on " << options.interface << ": "
        << pcap_statustostr(activated) << " (" << pcap_geterr(handle.get()) << ")\n";
    return app::kExitFailure;
  }
  if (!options.filter.empty()) {
    bpf_program program;
    if (pcap_compile(handle.get(), &program, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) !=
        0) {
      err << "analyzer capture: bad filter '" << options.filter
          << "': " << pcap_geterr(handle.get()) << "\n";
      return app::kExitFailure;
    }
    const int set = pcap_setfilter(handle.get(), &program);
    pcap_freecode(&program);
    if (set != 0) {
      err << "analyzer capture: cannot set filter: " << pcap_geterr(handle.get()) << "\n";
      return app::kExitFailure;
    }
  }
  // Non-blocking reads behind our own poll(): a blocking pcap_dispatch()
  // can wait forever on an idle interface, whatever its timeout.
  const int fd = pcap_get_selectable_fd(handle.get());
  if (fd < 0 || pcap_setnonblock(handle.get(), 1, error) != 0) {
    err << "analyzer capture: cannot poll " << options.interface << ": " << error << "\n";
    return app::kExitFailure;
  }
  RingDumper dumper(handle.get(), options.write, options.ring, options.size_mb * 1'000'000);
  Loop loop{&dumper, absl::OkStatus(), 0, options.count, handle.get()};
  if (options.ring == 0) loop.max_bytes = options.max_mb * 1'000'000;

  g_stop.store(false);
  struct sigaction action = {};
  action.sa_handler = StopCapture;
  struct sigaction old_int = {};
  struct sigaction old_term = {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  out << "capturing on " << options.interface << std::endl;
  const auto deadline = std::chrono::steady_clock::now() + options.duration;
  int result = 0;
  while (!g_stop.load()) {
    if (options.duration.count() > 0 && std::chrono::steady_clock::now() >= deadline) break;
    pollfd poll_fd = {fd, POLLIN, 0};
    if (poll(&poll_fd, 1, 100) <= 0) continue;  // Timeout or signal: check the stop conditions.
    result = pcap_dispatch(handle.get(), -1, OnPacket, reinterpret_cast<u_char*>(&loop));
    if (result < 0 || !loop.status.ok()) break;  // Error, or --count reached.
  }
  // Stopped by a signal: what the kernel already holds belongs to the
  // capture too (a stopped run's last packets).
  if (g_stop.load() && result >= 0 && loop.status.ok()) {
    while (pcap_dispatch(handle.get(), -1, OnPacket, reinterpret_cast<u_char*>(&loop)) > 0 &&
           loop.status.ok()) {
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  dumper.Close();
  if (!loop.status.ok()) {
    err << "analyzer capture: " << loop.status.message() << "\n";
    return app::kExitFailure;
  }
  if (result == PCAP_ERROR) {
    err << "analyzer capture: " << pcap_geterr(handle.get()) << "\n";
    return app::kExitFailure;
  }
  pcap_stat stats = {};
  pcap_stats(handle.get(), &stats);
  if (loop.not_written > 0) {
    out << "size limit of " << options.max_mb << " MB reached: " << loop.not_written
        << " packets not written" << std::endl;
  }
  out << loop.packets << " packets written, " << stats.ps_drop << " dropped by the kernel, "
      << stats.ps_ifdrop << " by the interface; files:";
  for (const std::string& file : dumper.files()) out << " " << file;
  out << std::endl;
  return app::kExitOk;
}

void AddCaptureCommand(app::App& app) {
  auto options = std::make_shared<CaptureCommandOptions>();
  CLI::App& command =
      app.AddCommand("capture", "Record live traffic to a pcap file or a ring of files",
                     [options] { return RunCaptureCommand(*options, std::cout, std::cerr); });
  command.add_option("-i,--interface", options->interface, "Interface to capture on")->required();
  command.add_option("filter", options->filter, "BPF capture filter (tcpdump syntax)");
  command.add_option("--write", options->write, "Output file (prefix of the ring's files)")
      ->capture_default_str();
  command.add_option("--ring", options->ring, "Files kept in the ring (0: one file)")
      ->capture_default_str();
  command.add_option("--size", options->size_mb, "Size of each ring file in MB")
      ->capture_default_str();
  command.add_option("--max-size", options->max_mb,
                     "Without --ring: stop writing once the file holds this many MB "
                     "(0: no limit)");
  command.add_option("--snaplen", options->snap_length, "Bytes kept of each packet")
      ->capture_default_str();
  command.add_option("--buffer", options->buffer_mb, "Kernel capture buffer in MB")
      ->capture_default_str();
  command.add_option("--count", options->count, "Stop after this many packets (0: no limit)");
  app::AddDuration(command, "--duration", options->duration, "Stop after this long (0: no limit)");
}

}  // namespace tpslab::analyzer::pcap
