// Session: one FTP control connection, from the 220 greeting to QUIT, as a
// coroutine on the io_context that owns its socket.
//
// The control loop reads one line at a time (LineReader, bounded by
// ServerConfig::max_line) under a deadline (the pre-login timeout until a
// login succeeds, then the idle timeout, suspended while a transfer runs),
// dispatches it to a handler written like the RFC text, and appends the
// reply to a per-session buffer that is written once no further pipelined
// command is waiting. Transfers run as a second coroutine on the same
// executor, so ABOR, STAT, NOOP and QUIT are answered while data flows;
// other commands wait for the transfer's final reply, keeping replies in
// order.
//
//   SessionContext shared{...};                       // one per server
//   auto session = std::make_shared<Session>(shared, std::move(socket));
//   co_spawn(socket_executor, Session::Serve(session), detached);
#ifndef TPSLAB_FTPD_SESSION_H_
#define TPSLAB_FTPD_SESSION_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/net/deadline.h"
#include "common/net/line_reader.h"
#include "ftpd/ascii.h"
#include "ftpd/command.h"
#include "ftpd/config.h"
#include "ftpd/data_channel.h"
#include "ftpd/home_jails.h"
#include "ftpd/limits.h"
#include "ftpd/passive_ports.h"
#include "ftpd/path_jail.h"
#include "ftpd/shared_rate.h"
#include "ftpd/stats.h"
#include "ftpd/users.h"
#include "ftpd/xferlog.h"

namespace tpslab::ftpd {

// What every session of a server shares. All members outlive the sessions;
// everything reachable from here is thread-safe or immutable.
struct SessionContext {
  const ServerConfig* config = nullptr;
  // The server root; users' homes are sub-jails of it.
  const PathJail* root_jail = nullptr;
  // Home jails shared by the sessions of one home (opened beneath root_jail).
  HomeJails* home_jails = nullptr;
  // Per-user shared transfer rates; null without --user-bandwidth-limit.
  UserRates* user_rates = nullptr;
  // Null when no users file was given: only anonymous logins work.
  const UsersFile* users = nullptr;
  PasswordVerifier* verifier = nullptr;
  // A hash of a random password, verified for unknown user names so that
  // they take as long as wrong passwords.
  std::string dummy_hash;
  // Runs the slow password hash off the event loop threads.
  boost::asio::thread_pool* hash_pool = nullptr;
  Stats* stats = nullptr;
  LoginGuard* login_guard = nullptr;
  // Null: no transfer log.
  Xferlog* xferlog = nullptr;
  // Null: no FTPS.
  boost::asio::ssl::context* tls = nullptr;
  // Where passive (PASV/EPSV) listeners bind.
  PassivePorts* passive_ports = nullptr;
};

class Session {
 public:
  using tcp = boost::asio::ip::tcp;

  // Takes over a connected control socket whose client is `peer` (as
  // accept(2) reported it). Nothing is sent until Serve().
  Session(SessionContext& context, tcp::socket socket, const tcp::endpoint& peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the session to its end (QUIT, disconnect, timeout, too many failed
  // logins), then closes the connection. Keeps `self` alive.
  static boost::asio::awaitable<void> Serve(std::shared_ptr<Session> self);

 private:
  enum class TransferKind : uint8_t { kRetr, kStor, kList };
  struct Transfer;

  // Control I/O.
  void Reply(int code, std::string_view text);
  void ReplyPath(int code, std::string_view path, std::string_view text);
  void ReplyPathError(const absl::Status& status);
  boost::asio::awaitable<bool> Flush();
  // At the end of a plain session: hands the kernel the pending replies and
  // the FIN together, so the last reply and the FIN share one segment.
  // Whatever could not be queued at once is left in out_ for Flush().
  void SendLastRepliesWithFin();
  void ArmControlDeadline();

  // Dispatch; false ends the session.
  boost::asio::awaitable<bool> Handle(std::string_view line);
  boost::asio::awaitable<bool> HandleLoggedIn(const Command& command);

  // Access control.
  void HandleUser(std::string_view name);
  boost::asio::awaitable<bool> HandlePass(std::string_view password);
  void Logout();
  bool ResolveArg(std::string_view argument, std::string* out);
  bool Check(std::string_view path, Permission permission);

  // Commands.
  void HandleCwd(std::string_view argument);
  void HandleMkd(std::string_view argument);
  void HandleRmd(std::string_view argument);
  void HandleDele(std::string_view argument);
  void HandleRnfr(std::string_view argument);
  void HandleRnto(std::string_view argument);
  void HandleSize(std::string_view argument);
  void HandleMdtm(std::string_view argument);
  void HandleMfmt(std::string_view argument);
  void HandleMlst(std::string_view argument);
  void HandleStat(std::string_view argument);
  void HandleFeat();
  void HandleHelp();
  void HandleSite(std::string_view argument);
  void HandlePasv(bool extended, std::string_view argument);
  void HandlePort(bool extended, std::string_view argument);
  boost::asio::awaitable<bool> HandleAuth(std::string_view argument);
  void HandleRetr(std::string_view argument);
  void HandleStore(Verb verb, std::string_view argument);
  void HandleList(Verb verb, std::string_view argument);

  // Transfers.
  void StartTransfer(std::unique_ptr<Transfer> transfer);
  static boost::asio::awaitable<void> RunTransfer(std::shared_ptr<Session> self,
                                                  std::unique_ptr<Transfer> transfer);
  boost::asio::awaitable<bool> DoTransfer(Transfer& transfer);
  boost::asio::awaitable<void> WaitForTransfer();
  void AbortTransfer();
  bool BuildListing(Verb verb, std::string_view path, bool all, std::string* out);

  SessionContext& ctx_;
  const ServerConfig& config_;
  std::weak_ptr<Session> weak_self_;
  tcp::socket socket_;
  tcp::endpoint peer_;
  tcp::endpoint local_;
  std::string peer_text_;
  net::LineReader reader_;
  std::optional<boost::asio::ssl::stream<tcp::socket&>> tls_;
  net::Deadline deadline_;
  std::chrono::steady_clock::time_point prelogin_expiry_;

  // Replies not yet written, and the buffer being written.
  std::string out_;
  bool fin_sent_ = false;  // SendLastRepliesWithFin shut the sending side.
  std::string sending_;
  bool writing_ = false;
  bool closed_ = false;
  std::string scratch_;  // ParseCommand's Telnet scratch
  std::string path_;     // resolved paths, reused
  std::string path2_;
  std::string text_;  // reply text, reused

  // Login state.
  std::string user_;
  bool user_given_ = false;
  bool logged_in_ = false;
  Account account_;
  std::shared_ptr<const PathJail> jail_;   // The home; shared (HomeJails).
  std::shared_ptr<SharedRate> user_rate_;  // Shared with the user's sessions.
  unsigned failed_logins_ = 0;

  // Session state.
  std::string cwd_ = "/";
  TransferType type_ = TransferType::kAscii;
  int64_t rest_ = 0;
  std::string rename_from_;
  bool has_rename_from_ = false;
  bool epsv_all_ = false;
  bool pbsz_ = false;
  bool prot_private_ = false;
  MlstFacts mlst_facts_ = MlstFacts::Default();

  // Data connection and the transfer running on it.
  DataChannel data_;
  bool transfer_active_ = false;
  bool abort_requested_ = false;
  uint64_t transfer_bytes_ = 0;
  boost::asio::steady_timer transfer_done_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_SESSION_H_
