#include "analyzer/run/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace tpslab::analyzer {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kPollStep{20};

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

ExitStatus FromWaitStatus(int status) {
  ExitStatus result;
  if (WIFEXITED(status)) result.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Tells the parent why the child could not start, and ends the child.
[[noreturn]] void ChildFailed(int error_pipe) {
  const int error = errno;
  (void)!::write(error_pipe, &error, sizeof error);
  ::_exit(127);
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void ExecChild(char* const* argv, char* const* envp, int stdin_fd, int output_fd,
                            int error_pipe, pid_t parent) {
  auto fail = [error_pipe] { ChildFailed(error_pipe); };
  ::setpgid(0, 0);
  // Die with the analyzer; check the parent did not already go before the
  // request took effect.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail();
  if (::getppid() != parent) ::_exit(1);
  sigset_t all;
  ::sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (::dup2(stdin_fd, STDIN_FILENO) < 0) fail();
  if (output_fd >= 0) {
    if (::dup2(output_fd, STDOUT_FILENO) < 0 || ::dup2(output_fd, STDERR_FILENO) < 0) fail();
  }
  ::execve(argv[0], argv, envp);
  ChildFailed(error_pipe);
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return absl::StrCat("killed by SIG", name != nullptr ? name : std::to_string(signal));
  }
  return absl::StrCat("exit code ", code);
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(std::vector<std::string> argv,
                                                 SpawnOptions options) {
  if (argv.empty()) return absl::InvalidArgumentError("spawn: empty command line");
  const std::string name = BaseName(argv[0]);
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat(name, ": cannot execute ", argv[0], ": ", std::strerror(errno)));
  }

  Fd output;
  if (!options.log_file.empty()) {
    output.Reset(::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (output.get() < 0) {
      return absl::PermissionDeniedError(absl::StrCat(
          name, ": cannot open log file ", options.log_file, ": ", std::strerror(errno)));
    }
  }
  int stdin_pipe[2] = {-1, -1};
  Fd stdin_read, stdin_write;
  if (options.stdin_data.empty()) {
    stdin_read.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  } else {
    if (::pipe2(stdin_pipe, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat(name, ": pipe: ", std::strerror(errno)));
    }
    stdin_read.Reset(stdin_pipe[0]);
    stdin_write.Reset(stdin_pipe[1]);
  }
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat(name, ": pipe: ", std::strerror(errno)));
  }
  Fd error_read(error_pipe[0]), error_write(error_pipe[1]);

  // Everything the child needs is built before fork().
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  for (std::string& e : options.environment) env.push_back(e.data());
  env.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat(name, ": fork: ", std::strerror(errno)));
  if (pid == 0) {
    ExecChild(args.data(), env.data(), stdin_read.get(), output.get(), error_write.get(), parent);
  }
  // Also set the group from this side, so Signal() works even if the
  // child has not run yet.
  ::setpgid(pid, pid);
  error_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status;
    ::waitpid(pid, &status, 0);
    return absl::InternalError(
        absl::StrCat(name, ": cannot start ", argv[0], ": ", std::strerror(child_errno)));
  }
  if (stdin_write.get() >= 0) {
    // Small (a password): a pipe holds it without blocking. The analyzer
    // ignores SIGPIPE, so a child that exits without reading it only ends
    // the loop.
    const std::string& data = options.stdin_data;
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t w = ::write(stdin_write.get(), data.data() + written, data.size() - written);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      written += static_cast<size_t>(w);
    }
  }
  return ChildProcess(pid, name, options.log_file);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      name_(std::move(other.name_)),
      log_file_(std::move(other.log_file_)),
      status_(std::move(other.status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    this->~ChildProcess();
    pid_ = std::exchange(other.pid_, -1);
    name_ = std::move(other.name_);
    log_file_ = std::move(other.log_file_);
    status_ = std::move(other.status_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    Signal(SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (status_ || pid_ <= 0) return status_;
  int status;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = FromWaitStatus(status);
  return status_;
}

std::optional<ExitStatus> ChildProcess::Wait(milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!Poll() && Clock::now() < deadline) std::this_thread::sleep_for(kPollStep);
  return status_;
}

void ChildProcess::Signal(int signal) {
  if (pid_ <= 0 || status_) return;
  // The group first (grandchildren too), then the child itself in case it
  // left the group.
  ::kill(-pid_, signal);
  ::kill(pid_, signal);
}

ExitStatus ChildProcess::Terminate(milliseconds grace) {
  if (std::optional<ExitStatus> done = Poll()) return *done;
  Signal(SIGTERM);
  if (std::optional<ExitStatus> done = Wait(grace)) return *done;
  Signal(SIGKILL);
  // SIGKILL cannot be caught; the wait ends promptly.
  return *Wait(milliseconds(10'000));
}

std::string ChildProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_file_, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                                   ? size - static_cast<std::streamoff>(max_bytes)
                                   : 0;
  in.seekg(start);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  return tail;
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(std::string_view prefix,
                                                      milliseconds timeout) {
  if (log_file_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, ": its output goes to the terminal, not a log file"));
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    // Read before polling: a child that printed the line and exited at
    // once still counts as having printed it.
    const bool ended = Poll().has_value();
    std::ifstream in(log_file_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with(prefix) && in.good()) return line.substr(prefix.size());
    }
    if (ended) {
      return absl::UnavailableError(
          absl::StrCat(name_, " ended (", status_->Describe(), ") before printing '",
                       std::string(prefix), "'; its log ", log_file_, " ends with:\n", LogTail()));
    }
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(name_, " did not print '", std::string(prefix), "' within ",
                       std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
                       " s; its log ", log_file_, " ends with:\n", LogTail()));
    }
    std::this_thread::sleep_for(kPollStep);
  }
}

}  // namespace tpslab::analyzer
