// ChildProcess: one helper binary started by `analyzer run` (ftpd, monitor,
// loadgen), in its own process group so the terminal's Ctrl-C reaches only
// the analyzer, which then stops the children in order. A child dies with the
// analyzer (PR_SET_PDEATHSIG), so a killed analyzer leaves nothing behind.
//
// Output goes to the terminal or to a log file; a child that announces its
// address on stdout ("listening on 127.0.0.1:40123") is waited for with
// WaitForLine(), which reads the log file as it grows.
//
// Example:
//   absl::StatusOr<ChildProcess> ftpd = ChildProcess::Spawn(
//       {"/path/ftpd", "--listen", "127.0.0.1:0", ...}, {.log_file = "logs/ftpd.log"});
//   absl::StatusOr<std::string> line = ftpd->WaitForLine("listening on ", 10s);
//   ...
//   ftpd->Terminate(5s);   // SIGTERM, then SIGKILL after 5 s
#ifndef TPSLAB_ANALYZER_RUN_CHILD_PROCESS_H_
#define TPSLAB_ANALYZER_RUN_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpslab::analyzer {

struct SpawnOptions {
  // File that receives the child's stdout and stderr (created or
  // truncated). Default empty: the child shares the analyzer's stdout and
  // stderr (a terminal shows its progress).
  std::string log_file = {};
  // Bytes written to the child's stdin, which is then closed. Default empty:
  // stdin is /dev/null.
  std::string stdin_data = {};
  // Extra environment entries "NAME=value" on top of the analyzer's own.
  // Default none.
  std::vector<std::string> environment = {};
};

// How a child ended.
struct ExitStatus {
  int code = 0;    // Exit code when it exited, else 0.
  int signal = 0;  // Signal that killed it, else 0.
  bool ok() const { return code == 0 && signal == 0; }
  // "exit code 3", "killed by SIGKILL".
  std::string Describe() const;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with `argv`. Errors name the program and say
  // why (not found, not executable, cannot open the log file).
  static absl::StatusOr<ChildProcess> Spawn(std::vector<std::string> argv,
                                            SpawnOptions options = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the process group (SIGKILL) and reaps the child if still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // The program's file name, for messages ("ftpd").
  const std::string& name() const { return name_; }
  const std::string& log_file() const { return log_file_; }

  // Waits until the log file has a line starting with `prefix` and returns
  // the rest of that line. Fails when the child exits first (quoting the
  // end of its log), when `timeout` passes, or when output goes to the
  // terminal (no log file).
  absl::StatusOr<std::string> WaitForLine(std::string_view prefix,
                                          std::chrono::milliseconds timeout);

  // The exit status if the child has ended (reaps it), else empty. Never
  // blocks.
  std::optional<ExitStatus> Poll();

  // Waits up to `timeout` for the child to end.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);

  // Sends `signal` to the child's process group (the child and anything it
  // started). No-op once the child has been reaped.
  void Signal(int signal);

  // SIGTERM, waits up to `grace`, then SIGKILL; returns how it ended.
  ExitStatus Terminate(std::chrono::milliseconds grace);

  // The last `max_bytes` of the log file (for error messages).
  std::string LogTail(size_t max_bytes = 2000) const;

 private:
  ChildProcess(pid_t pid, std::string name, std::string log_file)
      : pid_(pid), name_(std::move(name)), log_file_(std::move(log_file)) {}

  pid_t pid_ = -1;
  std::string name_;
  std::string log_file_;
  std::optional<ExitStatus> status_;
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_CHILD_PROCESS_H_
