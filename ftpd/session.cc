#include "ftpd/session.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <ctime>
#include <exception>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/net/error.h"
#include "ftpd/listing.h"
#include "ftpd/tls.h"
#include "spdlog/spdlog.h"

namespace tpslab::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kIoChunk = 64 * 1024;
// Bound on the TLS close_notify exchange and the last control writes.
constexpr auto kCloseTimeout = std::chrono::seconds(5);

Clock::duration ToClock(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<Clock::duration>(d);
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void AppendNumber(uint64_t value, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, end);
}

// Runs PasswordVerifier::Verify on `pool` and completes on the caller's
// executor with the result. Takes copies, so nothing on the pool refers to
// the session if it ends meanwhile.
template <typename CompletionToken>
auto AsyncVerify(asio::thread_pool& pool, PasswordVerifier* verifier, std::string user,
                 std::string password, std::string hash, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(bool)>(
      [&pool, verifier](auto handler, std::string user, std::string password, std::string hash) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        asio::post(pool, [handler = std::move(handler), work = std::move(work), verifier,
                          user = std::move(user), password = std::move(password),
                          hash = std::move(hash)]() mutable {
          const bool ok = verifier->Verify(user, password, hash);
          explicit_bzero(password.data(), password.size());
          auto executor = work.get_executor();
          asio::post(executor,
                     [handler = std::move(handler), ok]() mutable { std::move(handler)(ok); });
          work.reset();
        });
      },
      token, std::move(user), std::move(password), std::move(hash));
}

std::string_view BaseName(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

// One data transfer, prepared by the command handler (files opened, listing
// built, permissions checked) and run by RunTransfer.
struct Session::Transfer {
  TransferKind kind = TransferKind::kRetr;
  Verb verb = Verb::kRetr;
  std::string path;  // virtual path, for replies and logs
  bool ascii = false;
  // RETR: the file, where to start, its size. APPE / REST+STOR: the file.
  UniqueFd fd;
  int64_t offset = 0;
  uint64_t size = 0;
  // STOR / STOU: the upload under its temporary name.
  std::optional<AtomicUpload> upload;
  // LIST / NLST / MLSD: the listing.
  std::string listing;
};

Session::Session(SessionContext& context, tcp::socket socket, const tcp::endpoint& peer)
    : ctx_(context),
      config_(*context.config),
      socket_(std::move(socket)),
      reader_(context.config->max_line),
      deadline_(socket_.get_executor(), socket_),
      data_(socket_.get_executor()),
      transfer_done_(socket_.get_executor()) {
  error_code ignored;
  peer_ = peer;
  local_ = socket_.local_endpoint(ignored);
  peer_text_ = NormalizeAddress(peer_.address()).to_string();
}

Session::~Session() = default;

// ---------------------------------------------------------------------------
// Control connection.

void Session::Reply(int code, std::string_view text) {
  ctx_.stats->CountReply(code);
  AppendReply(code, text, &out_);
}

void Session::ReplyPath(int code, std::string_view path, std::string_view text) {
  ctx_.stats->CountReply(code);
  AppendPathReply(code, path, text, &out_);
}

void Session::ReplyPathError(const absl::Status& status) {
  const PathError error = GetPathError(status);
  if (error == PathError::kEscapesRoot || error == PathError::kInvalidName) {
    ctx_.stats->Reject(Rejection::kPathEscape);
  }
  Reply(FtpReplyCode(error), PathErrorText(error));
}

asio::awaitable<bool> Session::Flush() {
  if (closed_) co_return false;
  if (writing_) co_return true;  // the running writer sends what we appended
  writing_ = true;
  while (!out_.empty() && !closed_) {
    sending_.swap(out_);
    const net::IoResult result =
        tls_ ? co_await net::Write(*tls_, asio::buffer(sending_), deadline_)
             : co_await net::Write(socket_, asio::buffer(sending_), deadline_);
    sending_.clear();
    if (result.error) closed_ = true;
  }
  writing_ = false;
  co_return !closed_;
}

void Session::SendLastRepliesWithFin() {
  if (closed_ || writing_ || out_.empty()) return;
  // MSG_MORE holds the data back; shutdown(SHUT_WR) then sends it with the
  // FIN flag on its last segment.
  const ssize_t n = ::send(socket_.native_handle(), out_.data(), out_.size(),
                           MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
  if (n <= 0) return;  // Flush() will try (and report) properly.
  out_.erase(0, static_cast<std::size_t>(n));
  if (!out_.empty()) return;  // Flush() sends the rest; the FIN follows.
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  fin_sent_ = !ignored;
}

void Session::ArmControlDeadline() {
  if (!logged_in_) {
    deadline_.ExpiresAt(prelogin_expiry_);
  } else if (transfer_active_) {
    if (deadline_.expiry() != Clock::time_point::max()) deadline_.ExpiresNever();
  } else {
    deadline_.ExpiresAfter(ToClock(config_.idle_timeout));
  }
}

asio::awaitable<void> Session::Serve(std::shared_ptr<Session> self) {
  Session& s = *self;
  s.weak_self_ = self;
  s.prelogin_expiry_ = Clock::now() + ToClock(s.config_.prelogin_timeout);
  s.Reply(220, "tpslab ftpd ready.");
  for (;;) {
    // Pipelined commands are answered together, in one write.
    if (s.reader_.buffered().find('\n') == std::string_view::npos) {
      if (!co_await s.Flush()) break;
    }
    s.ArmControlDeadline();
    const net::LineResult read = s.tls_ ? co_await s.reader_.ReadLine(*s.tls_, s.deadline_)
                                        : co_await s.reader_.ReadLine(s.socket_, s.deadline_);
    if (read.error == net::Error::line_too_long) {
      s.ctx_.stats->Reject(Rejection::kLineTooLong);
      s.Reply(500, "Command line too long.");
      continue;
    }
    if (read.error) {
      if (read.error == net::Error::timed_out) {
        s.ctx_.stats->Reject(Rejection::kTimeout);
        s.Reply(421, s.logged_in_ ? "Idle timeout, closing control connection."
                                  : "Login timeout, closing control connection.");
      }
      break;
    }
    if (!co_await s.Handle(read.line)) break;
  }
  if (s.transfer_active_) {
    s.AbortTransfer();
    co_await s.WaitForTransfer();
  }
  s.deadline_.ExpiresAfter(kCloseTimeout);
  if (!s.tls_) s.SendLastRepliesWithFin();
  co_await s.Flush();
  s.deadline_.ExpiresNever();
  s.data_.Cancel();
  error_code ignored;
  if (!s.fin_sent_) s.socket_.shutdown(tcp::socket::shutdown_both, ignored);
  s.socket_.close(ignored);
}

// ---------------------------------------------------------------------------
// Dispatch.

asio::awaitable<bool> Session::Handle(std::string_view line) {
  absl::StatusOr<Command> parsed = ParseCommand(line, &scratch_);
  if (!parsed.ok()) {
    Reply(500, "Syntax error, command unrecognized.");
    co_return true;
  }
  const Command command = *parsed;
  if (command.verb == Verb::kUnknown) {
    Reply(500, "Unknown command.");
    co_return true;
  }
  if (transfer_active_) {
    switch (command.verb) {
      case Verb::kAbor:
        AbortTransfer();
        co_await WaitForTransfer();
        Reply(226, "ABOR command successful.");
        co_return true;
      case Verb::kStat:
        text_ = "Transfer in progress: ";
        AppendNumber(transfer_bytes_, &text_);
        text_ += " bytes transferred.";
        Reply(213, text_);
        co_return true;
      case Verb::kNoop:
        Reply(200, "NOOP ok.");
        co_return true;
      default:
        // Everything else (QUIT included, RFC 959 4.1.1) waits for the
        // transfer's final reply.
        if (!co_await Flush()) co_return false;
        co_await WaitForTransfer();
        break;
    }
  }
  switch (command.verb) {
    case Verb::kUser:
      HandleUser(command.argument);
      co_return true;
    case Verb::kPass:
      co_return co_await HandlePass(command.argument);
    case Verb::kQuit:
      Reply(221, "Goodbye.");
      co_return false;
    case Verb::kNoop:
      Reply(200, "NOOP ok.");
      co_return true;
    case Verb::kSyst:
      Reply(215, "UNIX Type: L8");
      co_return true;
    case Verb::kFeat:
      HandleFeat();
      co_return true;
    case Verb::kHelp:
      HandleHelp();
      co_return true;
    case Verb::kAuth:
      co_return co_await HandleAuth(command.argument);
    case Verb::kPbsz: {
      if (!tls_) {
        Reply(503, "PBSZ requires AUTH TLS first.");
      } else if (!ParsePbszArgument(command.argument).ok()) {
        Reply(501, "Bad PBSZ argument.");
      } else {
        pbsz_ = true;
        Reply(200, "PBSZ=0");
      }
      co_return true;
    }
    case Verb::kProt: {
      if (!tls_) {
        Reply(503, "PROT requires AUTH TLS first.");
        co_return true;
      }
      if (!pbsz_) {
        Reply(503, "PROT requires PBSZ first.");
        co_return true;
      }
      absl::StatusOr<ProtectionLevel> level = ParseProtArgument(command.argument);
      if (!level.ok()) {
        Reply(absl::IsUnimplemented(level.status()) ? 536 : 501,
              absl::IsUnimplemented(level.status()) ? "PROT level not supported by mechanism."
                                                    : "Bad PROT argument.");
      } else {
        prot_private_ = *level == ProtectionLevel::kPrivate;
        Reply(200, prot_private_ ? "PROT now Private." : "PROT now Clear.");
      }
      co_return true;
    }
    case Verb::kOpts: {
      absl::StatusOr<OptsArgument> opts = ParseOptsArgument(command.argument);
      if (!opts.ok()) {
        Reply(501, "Option not understood.");
      } else if (opts->kind == OptsArgument::Kind::kUtf8) {
        Reply(200, opts->utf8_on ? "UTF8 set to on." : "UTF8 set to off.");
      } else {
        mlst_facts_ = opts->facts;
        text_ = "MLST OPTS ";
        AppendMlstFactList(mlst_facts_, &text_);
        Reply(200, text_);
      }
      co_return true;
    }
    case Verb::kRein:
      Logout();
      user_given_ = false;
      Reply(220, "Service ready for new user.");
      co_return true;
    case Verb::kAbor:
      data_.Cancel();
      Reply(225, "No transfer to abort.");
      co_return true;
    default:
      break;
  }
  if (!logged_in_) {
    Reply(530, "Please login with USER and PASS.");
    co_return true;
  }
  co_return co_await HandleLoggedIn(command);
}

asio::awaitable<bool> Session::HandleLoggedIn(const Command& command) {
  const std::string_view arg = command.argument;
  switch (command.verb) {
    case Verb::kPwd:
      ReplyPath(257, cwd_, "is the current directory.");
      break;
    case Verb::kCwd:
      HandleCwd(arg);
      break;
    case Verb::kCdup:
      HandleCwd("..");
      break;
    case Verb::kType: {
      absl::StatusOr<TransferType> type = ParseTypeArgument(arg);
      if (!type.ok()) {
        Reply(ReplyCodeFor(type.status()), "Unsupported TYPE.");
      } else {
        type_ = *type;
        Reply(200, type_ == TransferType::kAscii ? "Switching to ASCII mode."
                                                 : "Switching to Binary mode.");
      }
      break;
    }
    case Verb::kMode: {
      absl::Status s = ParseModeArgument(arg);
      Reply(s.ok() ? 200 : ReplyCodeFor(s), s.ok() ? "Mode set to S." : "Unsupported MODE.");
      break;
    }
    case Verb::kStru: {
      absl::Status s = ParseStruArgument(arg);
      Reply(s.ok() ? 200 : ReplyCodeFor(s), s.ok() ? "Structure set to F." : "Unsupported STRU.");
      break;
    }
    case Verb::kAllo:
      if (!ParseAlloArgument(arg).ok()) {
        Reply(501, "Bad ALLO argument.");
      } else {
        Reply(202, "ALLO command ignored.");
      }
      break;
    case Verb::kAcct:
      Reply(202, "ACCT not needed.");
      break;
    case Verb::kSmnt:
      Reply(502, "SMNT not implemented.");
      break;
    case Verb::kRest: {
      absl::StatusOr<int64_t> offset = ParseRestArgument(arg);
      if (!offset.ok()) {
        Reply(501, "Bad REST offset.");
      } else {
        rest_ = *offset;
        text_ = "Restarting at ";
        AppendNumber(static_cast<uint64_t>(rest_), &text_);
        text_ += ". Send STORE or RETRIEVE.";
        Reply(350, text_);
      }
      break;
    }
    case Verb::kPasv:
      HandlePasv(false, arg);
      break;
    case Verb::kEpsv:
      HandlePasv(true, arg);
      break;
    case Verb::kPort:
      HandlePort(false, arg);
      break;
    case Verb::kEprt:
      HandlePort(true, arg);
      break;
    case Verb::kRetr:
      HandleRetr(arg);
      break;
    case Verb::kStor:
    case Verb::kStou:
    case Verb::kAppe:
      HandleStore(command.verb, arg);
      break;
    case Verb::kList:
    case Verb::kNlst:
    case Verb::kMlsd:
      HandleList(command.verb, arg);
      break;
    case Verb::kMkd:
      HandleMkd(arg);
      break;
    case Verb::kRmd:
      HandleRmd(arg);
      break;
    case Verb::kDele:
      HandleDele(arg);
      break;
    case Verb::kRnfr:
      HandleRnfr(arg);
      break;
    case Verb::kRnto:
      HandleRnto(arg);
      break;
    case Verb::kSize:
      HandleSize(arg);
      break;
    case Verb::kMdtm:
      HandleMdtm(arg);
      break;
    case Verb::kMfmt:
      HandleMfmt(arg);
      break;
    case Verb::kMlst:
      HandleMlst(arg);
      break;
    case Verb::kStat:
      HandleStat(arg);
      break;
    case Verb::kSite:
      HandleSite(arg);
      break;
    case Verb::kCcc:
      Reply(534, "CCC not supported.");
      break;
    case Verb::kLang:
      Reply(502, "LANG not implemented.");
      break;
    default:
      Reply(502, "Command not implemented.");
      break;
  }
  // A REST applies only to the command right after it.
  if (command.verb != Verb::kRest && command.verb != Verb::kRetr && command.verb != Verb::kStor) {
    rest_ = 0;
  }
  if (command.verb != Verb::kRnfr) has_rename_from_ = false;
  co_return true;
}

// ---------------------------------------------------------------------------
// Access control.

void Session::HandleUser(std::string_view name) {
  if (logged_in_) Logout();
  if (name.empty()) {
    Reply(501, "USER needs a name.");
    return;
  }
  user_.assign(name.data(), name.size());
  user_given_ = true;
  if (IsAnonymousName(name) && config_.anonymous.enabled) {
    Reply(331, "Anonymous login ok, send your e-mail address as password.");
  } else {
    Reply(331, "Please specify the password.");
  }
}

asio::awaitable<bool> Session::HandlePass(std::string_view password) {
  if (logged_in_) {
    Reply(230, "Already logged in.");
    co_return true;
  }
  if (!user_given_) {
    Reply(503, "Login with USER first.");
    co_return true;
  }
  user_given_ = false;
  const asio::ip::address peer = peer_.address();
  bool ok = false;
  Account account;
  if (ctx_.login_guard->LockedOut(peer)) {
    ctx_.stats->Reject(Rejection::kLockout);
  } else if (IsAnonymousName(user_)) {
    if (config_.anonymous.enabled) {
      absl::StatusOr<Account> anonymous = AnonymousAccount(config_.anonymous);
      if (anonymous.ok()) {
        account = *std::move(anonymous);
        ok = true;
      }
    }
  } else if (ctx_.users != nullptr) {
    const UserEntry* entry = ctx_.users->Find(user_);
    const std::string_view hash = entry != nullptr ? entry->password_hash : ctx_.dummy_hash;
    if (entry != nullptr && ctx_.verifier->VerifyCached(user_, password, hash)) {
      ok = true;
    } else {
      // The slow hash runs on the hash pool; the result comes back to this
      // session's executor. Copies, so nothing here is referenced from the
      // pool if the session ends meanwhile.
      const bool match =
          co_await AsyncVerify(*ctx_.hash_pool, ctx_.verifier, user_, std::string(password),
                               std::string(hash), asio::use_awaitable);
      ok = match && entry != nullptr;
    }
    if (ok) account = entry->ToAccount();
  }
  if (ok) {
    absl::StatusOr<std::shared_ptr<const PathJail>> jail = ctx_.home_jails->Open(account.root);
    if (!jail.ok()) {
      spdlog::warn("{}: home {} of user {} unavailable: {}", peer_text_, account.root, account.name,
                   jail.status().ToString());
      Reply(530, "Home directory unavailable.");
      co_return true;
    }
    jail_ = *std::move(jail);
    account_ = std::move(account);
    if (ctx_.user_rates != nullptr) user_rate_ = ctx_.user_rates->For(account_.name);
    logged_in_ = true;
    cwd_ = "/";
    failed_logins_ = 0;
    ctx_.stats->LoginOk();
    spdlog::debug("{}: user {} logged in", peer_text_, account_.name);
    Reply(230, "Login successful.");
    co_return true;
  }
  ctx_.stats->LoginFailed();
  ctx_.login_guard->RecordFailure(peer);
  ++failed_logins_;
  spdlog::info("{}: failed login for user '{}' ({} in this session)", peer_text_, user_,
               failed_logins_);
  if (config_.failed_login_delay.count() > 0) {
    // No reply until the delay has passed; the session reads nothing else
    // meanwhile, so a client cannot speed up guessing by pipelining.
    asio::steady_timer delay(socket_.get_executor(), ToClock(config_.failed_login_delay));
    co_await delay.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  Reply(530, "Login incorrect.");
  if (config_.max_failed_logins > 0 && failed_logins_ >= config_.max_failed_logins) {
    ctx_.stats->Reject(Rejection::kTooManyFailures);
    Reply(421, "Too many failed logins, closing control connection.");
    co_return false;
  }
  co_return true;
}

void Session::Logout() {
  if (transfer_active_) AbortTransfer();
  logged_in_ = false;
  account_ = Account();
  jail_.reset();
  user_rate_.reset();
  cwd_ = "/";
  type_ = TransferType::kAscii;
  rest_ = 0;
  has_rename_from_ = false;
  epsv_all_ = false;
  mlst_facts_ = MlstFacts::Default();
  data_.Cancel();
  prelogin_expiry_ = Clock::now() + ToClock(config_.prelogin_timeout);
}

bool Session::ResolveArg(std::string_view argument, std::string* out) {
  absl::Status status = PathJail::Resolve(cwd_, argument, out);
  if (!status.ok()) {
    ReplyPathError(status);
    return false;
  }
  return true;
}

bool Session::Check(std::string_view path, Permission permission) {
  if (account_.PermissionsAt(path).Has(permission)) return true;
  ctx_.stats->Reject(Rejection::kPermission);
  Reply(550, "Permission denied.");
  return false;
}

// ---------------------------------------------------------------------------
// File commands.

void Session::HandleCwd(std::string_view argument) {
  if (!ResolveArg(argument, &path_)) return;
  absl::StatusOr<struct stat> st = jail_->Stat(path_);
  if (!st.ok()) return ReplyPathError(st.status());
  if (!S_ISDIR(st->st_mode)) return Reply(550, "Not a directory.");
  if (account_.PermissionsAt(path_).empty()) {
    ctx_.stats->Reject(Rejection::kPermission);
    return Reply(550, "Permission denied.");
  }
  cwd_.swap(path_);
  Reply(250, "Directory successfully changed.");
}

void Session::HandleMkd(std::string_view argument) {
  if (argument.empty()) return Reply(501, "MKD needs a directory name.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kMkdir)) return;
  absl::Status s = jail_->MakeDirectory(path_);
  if (!s.ok()) return ReplyPathError(s);
  ReplyPath(257, path_, "created.");
}

void Session::HandleRmd(std::string_view argument) {
  if (argument.empty()) return Reply(501, "RMD needs a directory name.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kDelete)) return;
  absl::Status s = jail_->RemoveDirectory(path_);
  if (!s.ok()) return ReplyPathError(s);
  Reply(250, "Directory removed.");
}

void Session::HandleDele(std::string_view argument) {
  if (argument.empty()) return Reply(501, "DELE needs a file name.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kDelete)) return;
  absl::Status s = jail_->Unlink(path_);
  if (!s.ok()) return ReplyPathError(s);
  Reply(250, "File deleted.");
}

void Session::HandleRnfr(std::string_view argument) {
  has_rename_from_ = false;
  if (argument.empty()) return Reply(501, "RNFR needs a name.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRename)) return;
  absl::StatusOr<struct stat> st = jail_->Lstat(path_);
  if (!st.ok()) return ReplyPathError(st.status());
  rename_from_ = path_;
  has_rename_from_ = true;
  Reply(350, "Ready for RNTO.");
}

void Session::HandleRnto(std::string_view argument) {
  if (!has_rename_from_) return Reply(503, "RNFR required first.");
  has_rename_from_ = false;
  if (argument.empty()) return Reply(501, "RNTO needs a name.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRename)) return;
  // Replacing an existing file destroys it: that needs write and delete.
  if (jail_->Lstat(path_).ok() && path_ != rename_from_) {
    const Permissions at = account_.PermissionsAt(path_);
    if (!at.Has(Permission::kWrite) || !at.Has(Permission::kDelete)) {
      ctx_.stats->Reject(Rejection::kPermission);
      return Reply(550, "Permission denied: target exists.");
    }
  }
  absl::Status s = jail_->Rename(rename_from_, path_);
  if (!s.ok()) return ReplyPathError(s);
  Reply(250, "Rename successful.");
}

void Session::HandleSize(std::string_view argument) {
  // In ASCII mode the size would need reading the whole file: refused, so
  // SIZE cannot be used to make the server read files for nothing.
  if (type_ == TransferType::kAscii) return Reply(550, "SIZE not allowed in ASCII mode.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRead)) return;
  absl::StatusOr<struct stat> st = jail_->Stat(path_);
  if (!st.ok()) return ReplyPathError(st.status());
  if (!S_ISREG(st->st_mode)) return Reply(550, "Not a regular file.");
  text_.clear();
  AppendNumber(static_cast<uint64_t>(st->st_size), &text_);
  Reply(213, text_);
}

void Session::HandleMdtm(std::string_view argument) {
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRead)) return;
  absl::StatusOr<struct stat> st = jail_->Stat(path_);
  if (!st.ok()) return ReplyPathError(st.status());
  if (!S_ISREG(st->st_mode)) return Reply(550, "Not a regular file.");
  text_.clear();
  AppendTimeVal(st->st_mtim, false, &text_);
  Reply(213, text_);
}

void Session::HandleMfmt(std::string_view argument) {
  absl::StatusOr<MfmtArgument> mfmt = ParseMfmtArgument(argument);
  if (!mfmt.ok()) return Reply(501, "Bad MFMT argument.");
  if (!ResolveArg(mfmt->path, &path_) || !Check(path_, Permission::kWrite)) return;
  struct timespec mtime;
  mtime.tv_sec = static_cast<time_t>(mfmt->time.seconds);
  mtime.tv_nsec = static_cast<long>(mfmt->time.nanoseconds);
  absl::Status s = jail_->SetModificationTime(path_, mtime);
  if (!s.ok()) return ReplyPathError(s);
  text_ = "Modify=";
  AppendTimeVal(mtime, true, &text_);
  text_ += "; ";
  text_.append(mfmt->path);
  Reply(213, text_);
}

void Session::HandleMlst(std::string_view argument) {
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRead)) return;
  absl::StatusOr<struct stat> st = jail_->Stat(path_);
  if (!st.ok()) return ReplyPathError(st.status());
  ListEntry entry = ListEntry::FromStat(path_, *st);
  text_.clear();
  if (!AppendMlstLine(entry, mlst_facts_, account_.PermissionsAt(path_), &text_)) {
    return Reply(550, "Name cannot be listed.");
  }
  ctx_.stats->CountReply(250);
  MultilineReply reply(250, "Listing " + path_, &out_);
  out_ += text_;  // already " facts path\r\n"
  reply.Finish("End");
}

void Session::HandleStat(std::string_view argument) {
  if (argument.empty()) {
    ctx_.stats->CountReply(211);
    MultilineReply reply(211, "FTP server status:", &out_);
    reply.AddLine(" Connected to " + peer_text_);
    reply.AddLine(" Logged in as " + account_.name);
    reply.AddLine(type_ == TransferType::kAscii ? " TYPE: ASCII" : " TYPE: BINARY");
    reply.AddLine(tls_ ? " Control connection is TLS" : " Control connection is plain text");
    reply.AddLine(prot_private_ ? " Data connections: TLS (PROT P)" : " Data connections: clear");
    reply.Finish("End of status");
    return;
  }
  ListArgument list = ParseListArgument(argument);
  if (!ResolveArg(list.path, &path_) || !Check(path_, Permission::kRead)) return;
  std::string listing;
  if (!BuildListing(Verb::kList, path_, list.all, &listing)) return;
  ctx_.stats->CountReply(213);
  MultilineReply reply(213, "Status of " + path_ + ":", &out_);
  std::string_view rest = listing;
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    reply.AddLine(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
  reply.Finish("End of status");
}

void Session::HandleFeat() {
  ctx_.stats->CountReply(211);
  MultilineReply reply(211, "Features:", &out_);
  if (ctx_.tls != nullptr) {
    reply.AddLine(" AUTH TLS");
    reply.AddLine(" PBSZ");
    reply.AddLine(" PROT");
  }
  reply.AddLine(" EPRT");
  reply.AddLine(" EPSV");
  reply.AddLine(" MDTM");
  reply.AddLine(" MFMT");
  std::string mlst = " ";
  AppendMlstFeature(mlst_facts_, &mlst);
  reply.AddLine(mlst);
  reply.AddLine(" PASV");
  reply.AddLine(" REST STREAM");
  reply.AddLine(" SIZE");
  reply.AddLine(" TVFS");
  reply.AddLine(" UTF8");
  reply.Finish("End");
}

void Session::HandleHelp() {
  ctx_.stats->CountReply(214);
  MultilineReply reply(214, "The following commands are recognized:", &out_);
  reply.AddLine(" ABOR ACCT ALLO APPE AUTH CCC  CDUP CWD  DELE EPRT EPSV FEAT HELP LIST");
  reply.AddLine(" MDTM MFMT MKD  MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT");
  reply.AddLine(" PWD  QUIT REIN REST RETR RMD  RNFR RNTO SITE SIZE SMNT STAT STOR STOU");
  reply.AddLine(" STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD");
  reply.Finish("Help OK.");
}

void Session::HandleSite(std::string_view argument) {
  std::string_view sub = argument.substr(0, argument.find(' '));
  if (sub.size() == 4 && (sub[0] | 0x20) == 'h' && (sub[1] | 0x20) == 'e' &&
      (sub[2] | 0x20) == 'l' && (sub[3] | 0x20) == 'p') {
    ctx_.stats->CountReply(214);
    MultilineReply reply(214, "SITE commands recognized:", &out_);
    reply.AddLine(" HELP");
    reply.Finish("Help OK.");
    return;
  }
  Reply(504, "SITE command not implemented.");
}

// ---------------------------------------------------------------------------
// Data connection setup.

void Session::HandlePasv(bool extended, std::string_view argument) {
  if (epsv_all_ && !extended) return Reply(501, "EPSV ALL in effect, use EPSV.");
  const asio::ip::address local = NormalizeAddress(local_.address());
  if (extended) {
    absl::StatusOr<EpsvArgument> epsv = ParseEpsvArgument(argument);
    if (!epsv.ok()) {
      return absl::IsUnimplemented(epsv.status())
                 ? Reply(522, local.is_v4() ? "Network protocol not supported, use (1)"
                                            : "Network protocol not supported, use (2)")
                 : Reply(501, "Bad EPSV argument.");
    }
    if (*epsv == EpsvArgument::kAll) {
      epsv_all_ = true;
      return Reply(200, "EPSV ALL ok.");
    }
    if ((*epsv == EpsvArgument::kIpv4 && !local.is_v4()) ||
        (*epsv == EpsvArgument::kIpv6 && !local.is_v6())) {
      return Reply(522, local.is_v4() ? "Network protocol not supported, use (1)"
                                      : "Network protocol not supported, use (2)");
    }
  } else if (!local.is_v4()) {
    return Reply(425, "PASV needs IPv4, use EPSV.");
  }
  absl::StatusOr<tcp::endpoint> endpoint =
      data_.Listen(local, *ctx_.passive_ports, config_.data_buffer_size);
  if (!endpoint.ok()) {
    spdlog::warn("{}: cannot open passive listener: {}", peer_text_, endpoint.status().ToString());
    return Reply(425, "Cannot open passive connection.");
  }
  const uint16_t port = endpoint->port();
  if (extended) {
    text_ = "Entering Extended Passive Mode (|||";
    AppendNumber(port, &text_);
    text_ += "|)";
    return Reply(229, text_);
  }
  const auto bytes = local.to_v4().to_bytes();
  text_ = "Entering Passive Mode (";
  for (uint8_t b : bytes) {
    AppendNumber(b, &text_);
    text_ += ',';
  }
  AppendNumber(port >> 8, &text_);
  text_ += ',';
  AppendNumber(port & 0xff, &text_);
  text_ += ").";
  Reply(227, text_);
}

void Session::HandlePort(bool extended, std::string_view argument) {
  if (epsv_all_) return Reply(501, "EPSV ALL in effect, use EPSV.");
  absl::StatusOr<HostPort> target =
      extended ? ParseEprtArgument(argument) : ParsePortArgument(argument);
  if (!target.ok()) {
    if (extended && absl::IsUnimplemented(target.status())) {
      return Reply(522, "Network protocol not supported, use (1,2)");
    }
    return Reply(501, extended ? "Bad EPRT argument." : "Bad PORT argument.");
  }
  asio::ip::address address;
  if (target->family == HostPort::Family::kIpv4) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(target->address.begin(), 4, b.begin());
    address = asio::ip::address_v4(b);
  } else {
    asio::ip::address_v6::bytes_type b;
    std::copy_n(target->address.begin(), 16, b.begin());
    address = NormalizeAddress(asio::ip::address_v6(b));
  }
  // No FTP bounce: data goes only to the client itself, never to a
  // privileged port.
  if (address != NormalizeAddress(peer_.address()) || target->port < 1024) {
    ctx_.stats->Reject(Rejection::kBounce);
    spdlog::info("{}: refused {} to {}", peer_text_, extended ? "EPRT" : "PORT",
                 target->ToString());
    return Reply(501, "Data connections only to your own address and a port >= 1024.");
  }
  data_.SetActive(tcp::endpoint(address, target->port), local_.address(), config_.data_buffer_size);
  Reply(200, extended ? "EPRT command successful." : "PORT command successful.");
}

asio::awaitable<bool> Session::HandleAuth(std::string_view argument) {
  if (ctx_.tls == nullptr) {
    Reply(502, "AUTH not available: TLS is not configured.");
    co_return true;
  }
  if (tls_) {
    Reply(503, "TLS already active.");
    co_return true;
  }
  if (!ParseAuthArgument(argument).ok()) {
    Reply(504, "Security mechanism not understood, use TLS.");
    co_return true;
  }
  Reply(234, "AUTH TLS successful.");
  if (!co_await Flush()) co_return false;
  // Anything the client sent after AUTH in the clear must not be taken as
  // if it came over TLS (command injection).
  reader_.Consume(reader_.buffered().size());
  tls_.emplace(socket_, *ctx_.tls);
  ArmControlDeadline();
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                             asio::as_tuple(asio::use_awaitable));
  ec = deadline_.MapError(ec);
  if (ec) {
    spdlog::info("{}: control TLS handshake failed: {}", peer_text_, ec.message());
    closed_ = true;
    co_return false;
  }
  pbsz_ = false;
  prot_private_ = false;
  co_return true;
}

// ---------------------------------------------------------------------------
// Transfers.

void Session::HandleRetr(std::string_view argument) {
  const int64_t offset = std::exchange(rest_, 0);
  if (!data_.configured()) return Reply(425, "Use PORT, EPRT, PASV or EPSV first.");
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kRead)) return;
  absl::StatusOr<PathJail::OpenFile> file = jail_->OpenForRead(path_);
  if (!file.ok()) return ReplyPathError(file.status());
  const uint64_t size = static_cast<uint64_t>(file->st.st_size);
  if (static_cast<uint64_t>(offset) > size) return Reply(554, "Restart offset beyond end of file.");
  auto transfer = std::make_unique<Transfer>();
  transfer->kind = TransferKind::kRetr;
  transfer->verb = Verb::kRetr;
  transfer->path = path_;
  transfer->ascii = type_ == TransferType::kAscii;
  transfer->fd = std::move(file->fd);
  transfer->offset = offset;
  transfer->size = size;
  StartTransfer(std::move(transfer));
}

void Session::HandleStore(Verb verb, std::string_view argument) {
  const int64_t offset = std::exchange(rest_, 0);
  if (!data_.configured()) return Reply(425, "Use PORT, EPRT, PASV or EPSV first.");
  if (verb != Verb::kStou && argument.empty()) return Reply(501, "A file name is needed.");
  if (verb == Verb::kStou && argument.empty()) argument = "ftpd.upload";
  if (!ResolveArg(argument, &path_) || !Check(path_, Permission::kWrite)) return;
  auto transfer = std::make_unique<Transfer>();
  transfer->kind = TransferKind::kStor;
  transfer->verb = verb;
  transfer->ascii = type_ == TransferType::kAscii;
  // Replacing (or overwriting part of) a file destroys data: that needs
  // delete as well as write.
  const auto refuse_replace = [&] {
    ctx_.stats->Reject(Rejection::kPermission);
    Reply(550, "Permission denied: file exists.");
  };
  if (verb == Verb::kAppe || (verb == Verb::kStor && offset > 0)) {
    if (verb == Verb::kStor && jail_->Lstat(path_).ok() &&
        !account_.PermissionsAt(path_).Has(Permission::kDelete)) {
      return refuse_replace();
    }
    absl::StatusOr<PathJail::OpenFile> file = jail_->OpenForWrite(
        path_, verb == Verb::kAppe ? PathJail::WriteMode::kAppend : PathJail::WriteMode::kResume);
    if (!file.ok()) return ReplyPathError(file.status());
    if (offset > 0 && ::lseek(file->fd.get(), offset, SEEK_SET) < 0) {
      return Reply(554, "Cannot restart at that offset.");
    }
    // O_NONBLOCK is irrelevant for regular files but clear it anyway.
    ::fcntl(file->fd.get(), F_SETFL, ::fcntl(file->fd.get(), F_GETFL) & ~O_NONBLOCK);
    transfer->fd = std::move(file->fd);
    transfer->offset = offset;
  } else {
    // The upload looks at the target anyway (a directory is refused before
    // any data moves): its answer saves a lookup of our own.
    absl::StatusOr<AtomicUpload> upload = jail_->BeginAtomicUpload(path_);
    if (!upload.ok()) return ReplyPathError(upload.status());
    path2_ = path_;
    if (upload->target_exists()) {
      if (verb == Verb::kStor && !account_.PermissionsAt(path_).Has(Permission::kDelete)) {
        return refuse_replace();  // `upload` removes its temporary.
      }
      if (verb == Verb::kStou) {
        // Announce the name CommitUnique will most likely take.
        for (int i = 1; i < 1000; ++i) {
          path2_ = absl::StrFormat("%s.%d", path_, i);
          if (!jail_->Lstat(path2_).ok()) break;
        }
      }
    }
    transfer->upload.emplace(*std::move(upload));
  }
  transfer->path = verb == Verb::kStou ? path2_ : path_;
  StartTransfer(std::move(transfer));
}

void Session::HandleList(Verb verb, std::string_view argument) {
  if (!data_.configured()) return Reply(425, "Use PORT, EPRT, PASV or EPSV first.");
  ListArgument list;
  if (verb == Verb::kMlsd) {
    list.path = argument;
  } else {
    list = ParseListArgument(argument);
  }
  if (!ResolveArg(list.path, &path_) || !Check(path_, Permission::kRead)) return;
  auto transfer = std::make_unique<Transfer>();
  transfer->kind = TransferKind::kList;
  transfer->verb = verb;
  transfer->path = path_;
  if (!BuildListing(verb, path_, list.all, &transfer->listing)) return;
  StartTransfer(std::move(transfer));
}

bool Session::BuildListing(Verb verb, std::string_view path, bool all, std::string* out) {
  absl::StatusOr<struct stat> st = jail_->Stat(path);
  if (!st.ok()) {
    ReplyPathError(st.status());
    return false;
  }
  ListFormat format;
  format.now = std::time(nullptr);
  if (!S_ISDIR(st->st_mode)) {
    if (verb == Verb::kMlsd) {
      Reply(501, "Not a directory.");
      return false;
    }
    ListEntry entry = ListEntry::FromStat(BaseName(path), *st);
    if (verb == Verb::kNlst) {
      AppendNlstLine(entry.name, out);
    } else {
      AppendListLine(entry, format, out);
    }
    return true;
  }
  absl::StatusOr<DirectoryReader> dir = jail_->OpenDirectory(path);
  if (!dir.ok()) {
    ReplyPathError(dir.status());
    return false;
  }
  DirectoryReader::Entry entry;
  std::string child;
  for (;;) {
    absl::StatusOr<bool> more = dir->Next(&entry);
    if (!more.ok()) {
      ReplyPathError(more.status());
      return false;
    }
    if (!*more) break;
    if (!all && verb != Verb::kMlsd && !entry.name.empty() && entry.name[0] == '.') continue;
    absl::StatusOr<struct stat> est = dir->Lstat(entry);
    if (!est.ok()) continue;
    const ListEntry item = ListEntry::FromStat(entry.name, *est);
    switch (verb) {
      case Verb::kNlst:
        AppendNlstLine(item.name, out);
        break;
      case Verb::kMlsd:
        child.assign(path.data(), path.size());
        if (child.size() > 1) child += '/';
        child.append(entry.name);
        AppendMlsdLine(item, MlsxKind::kEntry, mlst_facts_, account_.PermissionsAt(child), out);
        break;
      default:
        AppendListLine(item, format, out);
        break;
    }
  }
  return true;
}

void Session::StartTransfer(std::unique_ptr<Transfer> transfer) {
  transfer_active_ = true;
  abort_requested_ = false;
  transfer_bytes_ = 0;
  transfer_done_.expires_at(Clock::time_point::max());
  asio::co_spawn(socket_.get_executor(), RunTransfer(weak_self_.lock(), std::move(transfer)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("transfer failed: {}", ex.what());
                   }
                 });
}

asio::awaitable<void> Session::RunTransfer(std::shared_ptr<Session> self,
                                           std::unique_ptr<Transfer> transfer) {
  Session& s = *self;
  co_await s.DoTransfer(*transfer);
  transfer.reset();  // closes files, removes an uncommitted temporary
  s.transfer_active_ = false;
  s.abort_requested_ = false;
  s.transfer_done_.cancel();
  if (s.logged_in_) s.deadline_.ExpiresAfter(ToClock(s.config_.idle_timeout));
  co_await s.Flush();
}

asio::awaitable<void> Session::WaitForTransfer() {
  while (transfer_active_) {
    co_await transfer_done_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Session::AbortTransfer() {
  abort_requested_ = true;
  data_.Cancel();
}

asio::awaitable<bool> Session::DoTransfer(Transfer& t) {
  const Clock::duration timeout = ToClock(config_.data_timeout);
  const Clock::time_point start = Clock::now();
  error_code ec = co_await data_.Establish(peer_.address(), timeout, ctx_.stats);
  if (abort_requested_) {
    Reply(426, "Connection closed; transfer aborted.");
    co_return false;
  }
  if (ec) {
    Reply(425, "Cannot open data connection.");
    data_.Cancel();
    co_return false;
  }
  switch (t.kind) {
    case TransferKind::kRetr:
      text_ = absl::StrFormat("Opening %s mode data connection for %s (%d bytes).",
                              t.ascii ? "ASCII" : "BINARY", t.path, t.size);
      Reply(150, text_);
      break;
    case TransferKind::kStor:
      if (t.verb == Verb::kStou) {
        text_ = "FILE: ";
        text_.append(BaseName(t.path));
        Reply(150, text_);
      } else {
        Reply(150, "Ok to send data.");
      }
      break;
    case TransferKind::kList:
      Reply(150, "Here comes the directory listing.");
      break;
  }
  if (!co_await Flush()) {
    data_.Cancel();
    co_return false;
  }
  if (prot_private_) {
    ec = co_await data_.StartTls(*ctx_.tls, timeout);
    if (ec || (config_.tls_require_session_reuse && !data_.TlsSessionReused())) {
      if (!ec) ctx_.stats->Reject(Rejection::kTlsReuse);
      data_.Cancel();
      Reply(abort_requested_ ? 426 : 522,
            ec ? "TLS handshake on the data connection failed."
               : "Data connection must reuse the control connection's TLS session.");
      co_return false;
    }
  }

  enum class Outcome { kOk, kNetworkError, kLocalError };
  Outcome outcome = Outcome::kOk;
  Pacer pacer(config_.bandwidth_limit, user_rate_);
  if (t.kind == TransferKind::kList) {
    const net::IoResult r = co_await data_.Write(asio::buffer(t.listing), timeout);
    transfer_bytes_ = r.bytes;
    if (r.error) outcome = Outcome::kNetworkError;
  } else if (t.kind == TransferKind::kRetr && !t.ascii && !data_.tls()) {
    const net::IoResult r =
        co_await data_.SendFile(t.fd.get(), static_cast<off_t>(t.offset), t.size - t.offset,
                                timeout, &pacer, &transfer_bytes_);
    if (r.error) outcome = Outcome::kNetworkError;
  } else if (t.kind == TransferKind::kRetr) {
    auto buffer = std::make_unique_for_overwrite<char[]>(kIoChunk);
    std::unique_ptr<char[]> encoded;
    if (t.ascii)
      encoded = std::make_unique_for_overwrite<char[]>(AsciiEncoder::MaxOutput(kIoChunk));
    AsciiEncoder encoder;
    off_t offset = static_cast<off_t>(t.offset);
    for (;;) {
      const ssize_t n = ::pread(t.fd.get(), buffer.get(), pacer.ChunkLimit(kIoChunk), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        outcome = Outcome::kLocalError;
        break;
      }
      if (n == 0) break;
      offset += n;
      asio::const_buffer out(buffer.get(), static_cast<std::size_t>(n));
      if (t.ascii) {
        out = asio::const_buffer(
            encoded.get(),
            encoder.Encode(std::span<const char>(buffer.get(), static_cast<std::size_t>(n)),
                           encoded.get()));
      }
      const net::IoResult r = co_await data_.Write(out, timeout);
      if (r.error) {
        outcome = Outcome::kNetworkError;
        break;
      }
      transfer_bytes_ += static_cast<uint64_t>(n);
      co_await pacer.Account(static_cast<std::size_t>(n));
    }
  } else {  // kStor
    const int fd = t.upload ? t.upload->fd() : t.fd.get();
    auto buffer = std::make_unique_for_overwrite<char[]>(kIoChunk);
    std::unique_ptr<char[]> decoded;
    if (t.ascii)
      decoded = std::make_unique_for_overwrite<char[]>(AsciiDecoder::MaxOutput(kIoChunk));
    AsciiDecoder decoder;
    for (;;) {
      const net::IoResult r =
          co_await data_.ReadSome(asio::buffer(buffer.get(), pacer.ChunkLimit(kIoChunk)), timeout);
      if (r.bytes > 0) {
        const char* data = buffer.get();
        std::size_t size = r.bytes;
        if (t.ascii) {
          size = decoder.Decode(std::span<const char>(buffer.get(), r.bytes), decoded.get());
          data = decoded.get();
        }
        if (!WriteAll(fd, data, size)) {
          outcome = Outcome::kLocalError;
          break;
        }
        transfer_bytes_ += r.bytes;
        co_await pacer.Account(r.bytes);
      }
      if (r.error == asio::error::eof) break;
      if (r.error) {
        outcome = Outcome::kNetworkError;
        break;
      }
    }
    if (outcome == Outcome::kOk && t.ascii) {
      char last;
      if (decoder.Finish(&last) == 1 && !WriteAll(fd, &last, 1)) outcome = Outcome::kLocalError;
    }
    if (outcome == Outcome::kOk) {
      // In stream mode a cut connection looks like the end of the file; if
      // the client died, its control connection closes at the same moment.
      // Let that news arrive before anything is committed.
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      char probe;
      const ssize_t peek = ::recv(socket_.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (peek == 0 || (peek < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        outcome = Outcome::kNetworkError;
      }
    }
  }
  if (abort_requested_) outcome = Outcome::kNetworkError;
  co_await data_.Close(kCloseTimeout);

  bool ok = outcome == Outcome::kOk;
  bool replied = false;
  if (t.kind == TransferKind::kStor && ok) {
    absl::Status committed;
    if (t.upload) {
      if (t.verb == Verb::kStou) {
        absl::StatusOr<std::string> name = t.upload->CommitUnique(config_.fsync_uploads);
        committed = name.status();
        if (name.ok()) {
          std::string_view dir = t.path;
          dir = dir.substr(0, dir.rfind('/') + 1);
          t.path = std::string(dir) + *name;
        }
      } else {
        committed = t.upload->Commit(config_.fsync_uploads);
      }
    } else if (config_.fsync_uploads && ::fsync(t.fd.get()) != 0) {
      committed = absl::InternalError(absl::StrFormat("fsync %s: %s", t.path, strerror(errno)));
    }
    if (!committed.ok()) {
      spdlog::warn("{}: upload of {} failed: {}", peer_text_, t.path, committed.ToString());
      ReplyPathError(committed);
      replied = true;
      ok = false;
    }
  }
  if (replied) {
  } else if (outcome == Outcome::kNetworkError) {
    Reply(426, "Connection closed; transfer aborted.");
  } else if (outcome == Outcome::kLocalError) {
    Reply(451, "Local error in processing.");
  } else if (t.verb == Verb::kStou) {
    text_ = "Transfer complete, stored as ";
    text_.append(BaseName(t.path));
    text_ += '.';
    Reply(226, text_);
  } else {
    Reply(226, "Transfer complete.");
  }
  if (t.kind != TransferKind::kList) {
    const Direction direction =
        t.kind == TransferKind::kRetr ? Direction::kDownload : Direction::kUpload;
    ctx_.stats->Transfer(direction, ok, transfer_bytes_);
    if (ctx_.xferlog != nullptr) {
      XferRecord record;
      record.end_time = std::time(nullptr);
      record.seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           Clock::now() - start + std::chrono::milliseconds(500))
                           .count();
      record.remote_host = peer_text_;
      record.bytes = transfer_bytes_;
      record.path = t.path;
      record.ascii = t.ascii;
      record.incoming = t.kind == TransferKind::kStor;
      record.anonymous = account_.anonymous;
      record.user = account_.name;
      record.complete = ok;
      ctx_.xferlog->Record(record);
    }
  }
  co_return ok;
}

}  // namespace tpslab::ftpd
