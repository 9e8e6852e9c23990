// ServerConfig: every setting of the ftpd server, with its default. Each
// field is also a command-line flag of `ftpd` (main.cc) and a key of its
// --config file (the flag name without dashes), so this struct is the one
// place where defaults live.
//
//   ServerConfig config;              // defaults
//   config.listen_port = 2121;
//   config.root = "/srv/ftp";
//   absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config);
#ifndef TPSLAB_FTPD_CONFIG_H_
#define TPSLAB_FTPD_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "ftpd/users.h"

namespace tpslab::ftpd {

struct ServerConfig {
  // Address to listen on (--listen HOST:PORT). Default "0.0.0.0" (every IPv4
  // interface); "::" listens on IPv6 and IPv4.
  std::string listen_host = "0.0.0.0";
  // Port to listen on. Default 0: the kernel picks one, printed on stdout.
  uint16_t listen_port = 0;
  // The server root (--root): every user's home is a directory beneath it.
  // Required.
  std::string root;
  // The users file (--users, see users.h). Default empty: no virtual users;
  // every login except anonymous (when enabled) is refused with 530.
  std::string users_file;
  // Event loop threads, one io_context each. Default 0: one per core.
  unsigned threads = 0;
  // Threads that run the slow password hash. Default 2.
  unsigned hash_threads = 2;

  // --- Limits.
  // Sessions at once; more are answered "421" and closed. Default 10000.
  unsigned max_sessions = 10000;
  // Sessions at once from one IP address. Default 64.
  unsigned max_sessions_per_ip = 64;
  // Longest control line, CRLF included; longer ones get "500 Command line
  // too long" and the session goes on. Also the control read buffer of each
  // session. Default 1024 bytes.
  std::size_t max_line = 1024;
  // Failed logins in one session before it is closed with 421. Default 3.
  unsigned max_failed_logins = 3;
  // Delay before each "530 Login incorrect". Default 1 s.
  std::chrono::nanoseconds failed_login_delay = std::chrono::seconds(1);
  // Failed logins from one IP address within lockout_duration after which
  // that address may not log in until lockout_duration has passed since its
  // last failure. Default 20.
  unsigned lockout_threshold = 20;
  // See lockout_threshold. Default 5 min.
  std::chrono::nanoseconds lockout_duration = std::chrono::minutes(5);
  // Time from connect to a successful login. Default 30 s.
  std::chrono::nanoseconds prelogin_timeout = std::chrono::seconds(30);
  // Time a logged-in session may wait for its next command; never applies
  // while a transfer runs. Default 5 min.
  std::chrono::nanoseconds idle_timeout = std::chrono::minutes(5);
  // Time to establish a data connection, and the longest a transfer may make
  // no progress. Default 30 s.
  std::chrono::nanoseconds data_timeout = std::chrono::seconds(30);
  // Bytes per second of each session's transfers. Default 0: unlimited.
  uint64_t bandwidth_limit = 0;
  // Bytes per second shared by all transfers of one user's sessions (all
  // anonymous sessions are one user). Default 0: unlimited.
  uint64_t user_bandwidth_limit = 0;
  // Passive data ports, inclusive (--passive-ports MIN-MAX). ftpd hands
  // them out in turn and binds each itself (passive_ports.h). Default 0-0:
  // the kernel's ephemeral range (net.ipv4.ip_local_port_range, usually
  // 32768-60999), still chosen and bound by ftpd, not by the kernel.
  uint16_t passive_port_min = 0;
  // Last passive port; see passive_port_min. Default 0.
  uint16_t passive_port_max = 0;
  // SO_SNDBUF/SO_RCVBUF of data sockets in bytes. Default 0: the kernel's
  // auto-tuning, which grows each buffer up to net.ipv4.tcp_wmem/tcp_rmem's
  // maximum (4-6 MiB); an explicit value turns auto-tuning off and is capped
  // at net.core.wmem_max/rmem_max.
  int data_buffer_size = 0;
  // fsync uploads (and their directory) before the 226 reply. Default false.
  bool fsync_uploads = false;
  // Follow symlinks that stay inside the user's root. Default true.
  bool follow_symlinks = true;

  // --- Accounts.
  AnonymousConfig anonymous;

  // --- FTPS (RFC 4217); enabled when both are set. Default empty: no AUTH TLS.
  std::string tls_cert;
  std::string tls_key;
  // Require data connections under PROT P to resume the TLS session of the
  // control connection (against data connection stealing). Default true.
  bool tls_require_session_reuse = true;

  // --- Observability.
  // xferlog-format transfer log, appended to. Default empty: none.
  std::string xferlog;
  // HOST:PORT of the admin HTTP server (GET /metrics). Default empty: none.
  std::string admin_host;
  uint16_t admin_port = 0;
  bool admin_enabled = false;

  // --- Privileges.
  // When started as root: the user to switch to after binding sockets and
  // opening files. Default empty: stay as started (a warning when root).
  std::string run_as_user;
  // Time given to sessions to finish after SIGINT/SIGTERM. Default 2 s.
  std::chrono::nanoseconds shutdown_grace = std::chrono::seconds(2);
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_CONFIG_H_
