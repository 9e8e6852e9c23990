#include "monitor/plugin_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "absl/status/status.h"
#include "monitor/plugin_output.h"
#include "monitor/text_fields.h"
#include "monitor/timestamp.h"

namespace tpslab::monitor {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    if (read >= 0) close(read);
    if (write >= 0) close(write);
  }
  bool Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void CloseWrite() {
    if (write >= 0) close(write);
    write = -1;
  }
  void CloseRead() {
    if (read >= 0) close(read);
    read = -1;
  }
};

}  // namespace

absl::StatusOr<PluginRun> RunPlugin(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout, std::size_t max_output,
                                    std::stop_token stop) {
  if (argv.empty()) return absl::InvalidArgumentError("empty plugin command");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (the monitor has threads).
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  Pipe out, err, exec_error;
  if (!out.Open() || !err.Open() || !exec_error.Open()) {
    return absl::InternalError(Cat("cannot create pipes for ", argv[0], ": ", strerror(errno)));
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(Cat("cannot fork for ", argv[0], ": ", strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out.write, STDOUT_FILENO);
    dup2(err.write, STDERR_FILENO);
    // Restore default signal handling the monitor may have changed.
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    int error = errno;
    ssize_t ignored = write(exec_error.write, &error, sizeof(error));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so kill(-pid) works at once
  out.CloseWrite();
  err.CloseWrite();
  exec_error.CloseWrite();

  int exec_errno = 0;
  if (read(exec_error.read, &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
    int status = 0;
    waitpid(pid, &status, 0);
    std::string message = Cat("cannot execute ", argv[0], ": ", strerror(exec_errno));
    if (exec_errno == ENOENT) return absl::NotFoundError(message);
    if (exec_errno == EACCES) return absl::PermissionDeniedError(message);
    return absl::InternalError(message);
  }

  PluginRun run;
  std::array<char, 4096> buffer;
  int status = 0;
  bool reaped = false;
  // Read both pipes until they close or the deadline passes. Once the
  // plugin itself has exited, whatever it left running in the background
  // (holding the pipes open) gets a short grace period, then the group is
  // killed; that is not a timeout of the plugin. A stop request ends the
  // wait at the next poll (at most 50 ms).
  Clock::time_point read_deadline = deadline;
  while ((out.read >= 0 || err.read >= 0) && !stop.stop_requested()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(read_deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
    int ready = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count() + 1, 50)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      Pipe& pipe = i == 0 ? out : err;
      std::string& target = i == 0 ? run.output : run.error_output;
      ssize_t n = read(pipe.read, buffer.data(), buffer.size());
      if (n <= 0) {
        pipe.CloseRead();
        continue;
      }
      std::size_t room = max_output > target.size() ? max_output - target.size() : 0;
      if (static_cast<std::size_t>(n) > room) run.output_truncated = true;
      target.append(buffer.data(), std::min(room, static_cast<std::size_t>(n)));
    }
    if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      read_deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(100));
    }
  }
  // The plugin may still be running (it closed its output early, or the
  // deadline passed, or stop was requested). Wait for it until the deadline
  // or the stop request, then kill the group.
  while (!reaped) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) {
      reaped = true;
      break;
    }
    const bool cancel = stop.stop_requested();
    if (cancel || Clock::now() >= deadline) {
      (cancel ? run.cancelled : run.timed_out) = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      reaped = true;
      break;
    }
    usleep(1000);
  }
  // Anything left in the group (background children) goes too.
  kill(-pid, SIGKILL);
  run.duration_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

tpslab::v1::CheckResult ToCheckResult(const std::string& name,
                                      const absl::StatusOr<PluginRun>& run) {
  tpslab::v1::CheckResult result;
  *result.mutable_time() = NowTimestamp();
  result.set_name(name);
  if (!run.ok()) {
    result.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
    result.set_output(std::string(run.status().message()));
    return result;
  }
  result.set_duration_seconds(run->duration_seconds);
  PluginOutput parsed = ParsePluginOutput(run->output);
  for (tpslab::v1::PerfData& datum : parsed.perf_data) *result.add_perf_data() = std::move(datum);
  if (run->timed_out) {
    result.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
    result.set_output(Cat("CHECK TIMEOUT: plugin killed after ", run->duration_seconds, " s"));
    return result;
  }
  if (run->cancelled) {
    result.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
    result.set_output(Cat("CHECK CANCELLED: plugin killed after ", run->duration_seconds,
                          " s because the monitor is stopping"));
    return result;
  }
  if (run->signal != 0) {
    result.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
    result.set_output(
        Cat("plugin killed by signal ", run->signal, " (", strsignal(run->signal), ")"));
    return result;
  }
  result.set_state(StateFromExitCode(run->exit_code));
  std::string text = parsed.status_text;
  if (text.empty()) {
    // Nothing on stdout: show the start of stderr, as the operator needs it.
    std::string_view err = run->error_output;
    text = std::string(err.substr(0, err.find('\n')));
    if (text.empty()) text = "(no output)";
  }
  if (run->exit_code < 0 || run->exit_code > 3) {
    text = Cat("plugin exited with code ", run->exit_code, ": ", text);
  }
  result.set_output(std::move(text));
  return result;
}

absl::StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        word.push_back(text[++i]);
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (quote != 0) {
    return absl::InvalidArgumentError(Cat("unterminated ", quote, " in command '", text, "'"));
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  return words;
}

}  // namespace tpslab::monitor
