// ftpd: the tpslab FTP server. A thin layer over Server (server.h) and
// SetUserPassword (users.h):
//
//   ftpd --listen 127.0.0.1:0 --root /srv/ftp --users /etc/ftpd/users
//     prints "listening on 127.0.0.1:PORT" (and "admin on HOST:PORT" with
//     --admin) on stdout, then serves until SIGINT/SIGTERM.
//   echo secret | ftpd passwd --users /etc/ftpd/users alice --root /alice --perms all
//
// Every option can also be set in a --config file (key = value, key being
// the long option name without dashes); see ServerConfig for the defaults.
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "common/app/cli.h"
#include "common/net/tcp.h"
#include "ftpd/config.h"
#include "ftpd/passive_ports.h"
#include "ftpd/permissions.h"
#include "ftpd/server.h"
#include "ftpd/users.h"
#include "spdlog/spdlog.h"

namespace tpslab::ftpd {
namespace {

absl::Status DropPrivileges(const std::string& user) {
  if (::geteuid() != 0) {
    if (!user.empty()) spdlog::warn("--user {} ignored: not running as root", user);
    return absl::OkStatus();
  }
  if (user.empty()) {
    spdlog::warn("running as root without --user: privileges are kept");
    return absl::OkStatus();
  }
  struct passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr)
    return absl::InvalidArgumentError(absl::StrFormat("--user: no user '%s'", user));
  const gid_t gid = pw->pw_gid;
  const uid_t uid = pw->pw_uid;
  if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
    return absl::InternalError(
        absl::StrFormat("cannot switch to user %s: %s", user, strerror(errno)));
  }
  if (::setuid(0) == 0) {
    return absl::InternalError("privileges could not be dropped: setuid(0) still works");
  }
  spdlog::info("running as user {} (uid {}, gid {})", user, uid, gid);
  return absl::OkStatus();
}

// An idle session holds one descriptor (its control connection; sessions of
// one home share its directory), a transfer two more (data connection or
// listener, file). Raises the soft limit on open files to the hard one, as
// servers meant for many connections do, and warns when even that is short
// of one per allowed session.
void RaiseOpenFileLimit(const ServerConfig& config) {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t soft = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = soft;
  }
  const uint64_t wanted = static_cast<uint64_t>(config.max_sessions) + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    spdlog::warn(
        "open files limit {} is below the {} that --max-sessions {} needs (one per idle "
        "session, three during a transfer); raise it (ulimit -Hn, LimitNOFILE=) or lower "
        "--max-sessions",
        limit.rlim_cur, wanted, config.max_sessions);
  }
}

int Serve(ServerConfig& config, const parse::Endpoint& listen, const parse::Endpoint& admin,
          bool admin_given, const std::string& passive_ports) {
  config.listen_host = listen.host.empty() ? "0.0.0.0" : listen.host;
  config.listen_port = listen.port;
  if (admin_given) {
    config.admin_enabled = true;
    config.admin_host = admin.host.empty() ? "0.0.0.0" : admin.host;
    config.admin_port = admin.port;
  }
  // "0-0" (or nothing) keeps the default: the kernel's ephemeral range.
  if (!passive_ports.empty() && passive_ports != "0-0") {
    absl::StatusOr<PortRange> range = ParsePortRange(passive_ports);
    if (!range.ok()) {
      std::cerr << "ftpd: error: --passive-ports: " << range.status().message() << "\n";
      return app::kExitUsage;
    }
    config.passive_port_min = range->min;
    config.passive_port_max = range->max;
  }
  if (config.root.empty()) {
    std::cerr << "ftpd: error: --root is required\nRun 'ftpd --help' for usage.\n";
    return app::kExitUsage;
  }
  RaiseOpenFileLimit(config);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config);
  if (!server.ok()) {
    spdlog::error("{}", server.status().ToString());
    return app::kExitFailure;
  }
  if (absl::Status s = DropPrivileges(config.run_as_user); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return app::kExitFailure;
  }
  if (config.users_file.empty()) {
    spdlog::warn("no --users file: only anonymous logins (if enabled) are accepted");
  }
  std::printf("listening on %s\n", net::FormatEndpoint((*server)->endpoint()).c_str());
  if ((*server)->admin_endpoint()) {
    std::printf("admin on %s\n", net::FormatEndpoint(*(*server)->admin_endpoint()).c_str());
  }
  std::fflush(stdout);
  (*server)->Run();
  spdlog::info("stopped");
  return app::kExitOk;
}

int Passwd(const std::string& users_file, const std::string& name, const std::string& root,
           const std::string& perms) {
  UserUpdate update;
  if (!root.empty()) update.root = root;
  if (!perms.empty()) {
    absl::StatusOr<Permissions> parsed = Permissions::Parse(perms);
    if (!parsed.ok()) {
      std::cerr << "ftpd passwd: --perms: " << parsed.status().message() << "\n";
      return app::kExitUsage;
    }
    update.permissions = *parsed;
  }
  if (::isatty(STDIN_FILENO)) std::cerr << "Password for " << name << ": " << std::flush;
  std::string password;
  if (!std::getline(std::cin, password)) {
    std::cerr << "ftpd passwd: no password on standard input\n";
    return app::kExitFailure;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  absl::StatusOr<PasswdOutcome> outcome = SetUserPassword(users_file, name, password, update);
  explicit_bzero(password.data(), password.size());
  if (!outcome.ok()) {
    std::cerr << "ftpd passwd: " << outcome.status().message() << "\n";
    return app::kExitFailure;
  }
  std::cerr << (*outcome == PasswdOutcome::kAdded ? "added user " : "updated user ") << name
            << " in " << users_file << "\n";
  return app::kExitOk;
}

}  // namespace
}  // namespace tpslab::ftpd

int main(int argc, char** argv) {
  using namespace tpslab;
  using ftpd::ServerConfig;
  app::App application("ftpd", "Fast, secure asynchronous FTP server", "0.1.0");
  ServerConfig config;
  parse::Endpoint listen{.host = "0.0.0.0", .port = 21};
  parse::Endpoint admin;
  std::string passive_ports;
  uint64_t data_buffer_size = 0;
  uint64_t max_line = config.max_line;
  CLI::App& root = application.root();
  CLI::Option* admin_option = nullptr;
  app::AddEndpoint(root, "--listen", listen, "Address to listen on (port 0: any free port)");
  root.add_option("--root", config.root, "Server root directory; user homes are beneath it");
  root.add_option("--users", config.users_file,
                  "Users file (ftpd passwd writes it); without one only anonymous logins work");
  root.add_option("--threads", config.threads, "Event loop threads (0: one per core)");
  root.add_option("--hash-threads", config.hash_threads, "Password hashing threads");
  root.add_option("--max-sessions", config.max_sessions, "Sessions at once");
  root.add_option("--max-sessions-per-ip", config.max_sessions_per_ip,
                  "Sessions at once from one address");
  root.add_option("--max-line", max_line, "Longest command line in bytes, CRLF included");
  root.add_option("--max-failed-logins", config.max_failed_logins,
                  "Failed logins before a session is closed");
  app::AddDuration(root, "--failed-login-delay", config.failed_login_delay,
                   "Delay before each 530 reply to a failed login");
  root.add_option("--lockout-threshold", config.lockout_threshold,
                  "Failed logins from one address that lock it out (0: never)");
  app::AddDuration(root, "--lockout-duration", config.lockout_duration,
                   "How long a lockout lasts after the last failure");
  app::AddDuration(root, "--prelogin-timeout", config.prelogin_timeout,
                   "Time from connect to a successful login");
  app::AddDuration(root, "--idle-timeout", config.idle_timeout,
                   "Time a logged-in session may wait for a command (not during transfers)");
  app::AddDuration(root, "--data-timeout", config.data_timeout,
                   "Time to open a data connection, and the longest stall of a transfer");
  app::AddSize(root, "--bandwidth-limit", config.bandwidth_limit,
               "Bytes per second per session (0: unlimited)");
  app::AddSize(root, "--user-bandwidth-limit", config.user_bandwidth_limit,
               "Bytes per second shared by all sessions of one user (0: unlimited)");
  root.add_option("--passive-ports", passive_ports,
                  "Passive port range MIN-MAX (default: the kernel's ephemeral range)");
  app::AddSize(root, "--data-buffer-size", data_buffer_size,
               "SO_SNDBUF/SO_RCVBUF of data sockets (0: kernel auto-tuning)");
  root.add_flag("--fsync,!--no-fsync", config.fsync_uploads, "fsync uploads before 226");
  root.add_flag("--follow-symlinks,!--no-follow-symlinks", config.follow_symlinks,
                "Follow symlinks that stay inside the user's root");
  root.add_flag("--anonymous,!--no-anonymous", config.anonymous.enabled,
                "Allow anonymous logins (read-only unless --anonymous-upload-dir)");
  root.add_option("--anonymous-root", config.anonymous.root,
                  "Directory under --root that anonymous users see, e.g. /pub");
  root.add_option("--anonymous-upload-dir", config.anonymous.upload_dir,
                  "Writable directory inside the anonymous root, e.g. /incoming");
  root.add_flag("--anonymous-upload-readable", config.anonymous.upload_readable,
                "Anonymous users may also read the upload directory");
  root.add_option("--tls-cert", config.tls_cert, "PEM certificate chain: enables FTPS");
  root.add_option("--tls-key", config.tls_key, "PEM private key for --tls-cert");
  root.add_flag("--tls-require-session-reuse,!--no-tls-require-session-reuse",
                config.tls_require_session_reuse,
                "PROT P data connections must resume the control connection's TLS session");
  root.add_option("--xferlog", config.xferlog, "Transfer log file (xferlog format)");
  admin_option = app::AddEndpoint(root, "--admin", admin, "Serve GET /metrics on HOST:PORT");
  root.add_option("--user", config.run_as_user, "When started as root, switch to this user");
  app::AddDuration(root, "--shutdown-grace", config.shutdown_grace,
                   "Time given to sessions after SIGINT/SIGTERM");
  application.SetMain([&] {
    config.data_buffer_size = static_cast<int>(std::min<uint64_t>(data_buffer_size, 1u << 30));
    config.max_line = static_cast<std::size_t>(max_line);
    return ftpd::Serve(config, listen, admin, admin_option->count() > 0, passive_ports);
  });

  std::string users_file, name, user_root, perms;
  CLI::App& passwd = application.AddCommand(
      "passwd", "Add or update a user; the password is read from standard input",
      [&] { return ftpd::Passwd(users_file, name, user_root, perms); });
  passwd.add_option("--users", users_file, "Users file to update (created if missing)")->required();
  passwd.add_option("name", name, "User name")->required();
  passwd.add_option("--root", user_root, "The user's home under the server root (default /)");
  passwd.add_option("--perms", perms,
                    "Permissions: read,write,delete,mkdir,rename, all or none (default read)");
  return application.Run(argc, argv);
}
