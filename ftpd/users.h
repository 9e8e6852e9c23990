// Accounts: the virtual users file, anonymous access, password hashing, a
// cache that keeps repeated logins cheap, and the logic of `ftpd passwd`.
//
// The users file (--users) has one user per line:
//
//   # name:hash:root:permissions
//   alice:$y$j9T$...$...:/alice:read,write,delete,mkdir,rename
//   bob:$y$j9T$...$...:/shared:read
//   carol:!$y$j9T$...$...:/carol:all            <- '!' locks the account
//
//   name         1-64 characters from A-Z a-z 0-9 . _ -, starting with a
//                letter, digit or '_'. Case-sensitive. "anonymous" and "ftp"
//                (any case) are reserved for anonymous access.
//   hash         a crypt(5) hash, as `ftpd passwd` writes it: yescrypt ($y$)
//                by default; any other method libxcrypt rates as current
//                (crypt_checksalt) is accepted too: $gy$, $7$, $2b$, $6$.
//                Legacy methods (DES, MD5, SHA-256 crypt, ...) are refused.
//                A leading '!' locks the account: it never verifies.
//   root         the user's home: a directory under the server root (--root),
//                "/" for the server root itself, "/alice" or "alice" for a
//                subdirectory. ".." is refused. The session opens it with
//                PathJail::OpenSubJail, so it cannot lead outside either.
//   permissions  comma-separated, from read (RETR, LIST, NLST, MLSD, MLST,
//                SIZE, MDTM, STAT), write (STOR, STOU, APPE, MFMT),
//                delete (DELE, RMD), mkdir (MKD), rename (RNFR/RNTO);
//                "all" for every one; "none" or empty for none. CWD needs any
//                permission at the target. Replacing an existing file (STOR
//                over it, RNTO onto it) needs write *and* delete, so write
//                alone can add files but never destroy one.
//
// Blank lines and lines whose first non-blank character is '#' are ignored.
// A line ending in CR LF is read as if it ended in LF. Any other deviation is
// an error naming file:line; a users file with an error is not used at all.
//
// Example:
//
//   absl::StatusOr<UsersFile> users = UsersFile::Load("/etc/ftpd/users");
//   const UserEntry* user = users->Find(name);
//   std::unique_ptr<PasswordVerifier> verifier = *PasswordVerifier::Create();
//   // On the event loop thread: the cheap check.
//   if (user && verifier->VerifyCached(name, password, user->password_hash)) ...
//   // Otherwise on a worker thread: the full (slow) check.
//   if (user && verifier->Verify(name, password, user->password_hash)) ...
#ifndef TPSLAB_FTPD_USERS_H_
#define TPSLAB_FTPD_USERS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ftpd/permissions.h"

namespace tpslab::ftpd {

// A logged-in identity, as the session uses it.
struct Account {
  // The login name ("anonymous" for anonymous sessions).
  std::string name;
  // The home directory: a virtual path under the server root ("/", "/alice").
  std::string root;
  // What the account may do anywhere in its home, except in upload_dir.
  Permissions permissions;
  // A virtual path inside the home (e.g. "/incoming") where
  // upload_permissions apply *instead of* permissions, to the directory and
  // everything under it. Empty: none.
  std::string upload_dir;
  Permissions upload_permissions;
  bool anonymous = false;

  // The permissions that apply to the object at `path`, a virtual path in
  // the account's home. For an object that is being created (STOR, MKD) or
  // renamed, pass the object's own path.
  Permissions PermissionsAt(std::string_view path) const;
};

// Anonymous FTP ("anonymous" or "ftp" with any password). Config file keys
// are the field names.
struct AnonymousConfig {
  // Allow anonymous logins. Default: false.
  bool enabled = false;
  // The tree anonymous users see, a directory under the server root ("/pub").
  // Default: empty, which AnonymousAccount() refuses when enabled: exposing
  // every user's home to anonymous users must be a deliberate "/".
  std::string root = {};
  // A directory inside `root` (a virtual path of the anonymous tree, e.g.
  // "/incoming") where anonymous users may upload (write) and create
  // directories (mkdir). Never delete or rename, so together with the
  // write+delete rule for replacing files, an upload can never overwrite
  // another. Default: empty, no uploads: anonymous access is read-only.
  std::string upload_dir = {};
  // Whether anonymous users may also download and list what is in
  // upload_dir. Default: false, so the upload area cannot serve as a public
  // drop box for files others fetch.
  bool upload_readable = false;
};

// True for the names that mean anonymous access: "anonymous", "ftp" (any case).
bool IsAnonymousName(std::string_view name);

// The account of an anonymous session, with read everywhere in `root` and
// write+mkdir (+read if upload_readable) in `upload_dir`. InvalidArgument if
// `config` is not enabled, has no root, or has a root or upload_dir with "..".
absl::StatusOr<Account> AnonymousAccount(const AnonymousConfig& config);

// One line of the users file.
struct UserEntry {
  std::string name;
  // The crypt(5) hash as written in the file, including a leading '!' when
  // the account is locked.
  std::string password_hash;
  // The home, normalized to a virtual path ("/", "/alice").
  std::string root;
  Permissions permissions;
  // 1-based line number in the file, for messages.
  int line = 0;

  bool locked() const { return !password_hash.empty() && password_hash.front() == '!'; }
  // The Account this user logs in as.
  Account ToAccount() const;
};

// A parsed users file. Immutable; safe to share between threads.
class UsersFile {
 public:
  // Reads and parses `path` (blocking file I/O). Errors name path:line.
  static absl::StatusOr<UsersFile> Load(const std::string& path);
  // Parses `content`; `file_name` only labels error messages.
  static absl::StatusOr<UsersFile> Parse(std::string_view content, std::string_view file_name);

  // The user called `name` (case-sensitive), or nullptr.
  const UserEntry* Find(std::string_view name) const;
  // Every user, in file order.
  const std::vector<UserEntry>& users() const { return users_; }

 private:
  std::vector<UserEntry> users_;
  std::map<std::string, size_t, std::less<>> by_name_;
};

// ---------------------------------------------------------------------------
// Passwords.

// The longest password accepted, in bytes. Longer ones are refused by
// HashPassword and never verify (FTP command lines are bounded anyway).
inline constexpr size_t kMaxPasswordLength = 1024;

// Hashes `password` with yescrypt at libxcrypt's default cost and a fresh
// random salt (crypt_gensalt_rn "$y$", crypt_rn; thread-safe). Takes tens
// of milliseconds of CPU and about 16 MiB of memory: call it off any event
// loop. InvalidArgument for an empty password, one with a NUL byte, or one
// longer than kMaxPasswordLength.
absl::StatusOr<std::string> HashPassword(std::string_view password);

// True iff `password` matches the crypt(5) hash `hash`. The final comparison
// is constant-time. False for a locked ("!...") or malformed hash, and for a
// password that HashPassword would refuse (a NUL byte would otherwise
// truncate it). As slow as HashPassword for a yescrypt hash.
bool VerifyPassword(std::string_view password, std::string_view hash);

// Settings of PasswordVerifier's cache of successful verifications.
struct VerifierOptions {
  // How many successful verifications are kept; the least recently used is
  // dropped beyond that. 0 disables the cache. Default: 1024 (about 100 KiB).
  size_t cache_capacity = 1024;
  // How long one success is reused, counted from the slow verification that
  // produced it (a hit does not extend it). 0 disables the cache. Default:
  // 5 minutes.
  std::chrono::seconds cache_ttl{300};
  // The clock for cache expiry. Default (empty): std::chrono::steady_clock.
  std::function<std::chrono::steady_clock::time_point()> clock = {};
  // The slow check. Default (empty): VerifyPassword. A test seam.
  std::function<bool(std::string_view password, std::string_view hash)> slow_verify = {};
};

// Verifies passwords against stored hashes, remembering recent successes so
// that a client that logs in again and again (a load test, a sync tool that
// opens a connection per file) pays the ~26 ms yescrypt check once per TTL
// rather than once per login. Thread-safe.
//
// What is cached: for each success, HMAC-SHA256(K, user || 0 || password ||
// 0 || stored_hash) and its insertion time, where K is a 32-byte secret
// drawn from OpenSSL's RAND_bytes when the verifier is created, held in one
// page excluded from core dumps (MADV_DONTDUMP) and locked in memory where
// the limit allows, and never written anywhere. A login is a hit only if it
// presents the same user, the same password and the same stored hash as a
// recent success; the MACs are compared in constant time. Neither the
// password nor any unkeyed function of it is kept.
//
// Why the stored hashes lose nothing: the users file and its yescrypt
// hashes are unchanged, so whoever steals the file still faces yescrypt.
// Only successes are cached, so online guessing gains nothing either: every
// wrong password pays the full slow check (and a hit's faster reply tells an
// attacker only that a password is right, which logging in tells anyway).
// Changing a user's password changes the stored hash, which is part of the
// MAC input, so old entries can never match again.
//
// What it does not protect against: someone who can read this process's
// memory (root, a debugger, a memory-disclosure bug) can take K together
// with the MACs and test password guesses for recently logged-in users at
// HMAC speed instead of yescrypt speed. The same someone can also read
// passwords as they arrive on the control connection, so this widens an
// existing exposure rather than opening a new one; the bounded size and
// short TTL limit it to the few users of the last minutes. Sites that do
// not accept that trade set cache_capacity = 0.
class PasswordVerifier {
 public:
  // Creates a verifier with a fresh random key. Fails only if the system
  // random generator or the key page cannot be set up.
  static absl::StatusOr<std::unique_ptr<PasswordVerifier>> Create(VerifierOptions options = {});
  ~PasswordVerifier();
  PasswordVerifier(const PasswordVerifier&) = delete;
  PasswordVerifier& operator=(const PasswordVerifier&) = delete;

  // True iff a fresh cached success matches exactly (user, password, hash).
  // Never runs the slow hash: a few microseconds, fine on an event loop.
  bool VerifyCached(std::string_view user, std::string_view password, std::string_view hash);

  // VerifyCached, and on a miss the slow check; a success is then cached.
  // Blocks for the slow hash's duration on a miss: call from a worker.
  bool Verify(std::string_view user, std::string_view password, std::string_view hash);

  // Drops every cached success (e.g. after the users file is reloaded).
  void Clear();

  // How many times the slow check ran.
  uint64_t slow_verifications() const { return slow_verifications_.load(); }
  // How many verifications were answered from the cache.
  uint64_t cache_hits() const { return cache_hits_.load(); }
  // Entries currently cached (expired ones count until looked up or evicted).
  size_t cache_size() const;

 private:
  using Mac = std::array<uint8_t, 32>;
  struct MacHash {
    size_t operator()(const Mac& mac) const;
  };
  struct MacEqual {
    bool operator()(const Mac& a, const Mac& b) const;  // constant-time
  };
  struct Entry {
    Mac mac;
    std::chrono::steady_clock::time_point inserted;
  };

  PasswordVerifier(VerifierOptions options, uint8_t* key);
  bool cache_enabled() const;
  // Computes the MAC of (user, password, hash); false if the input cannot be
  // cached (too long, or NUL bytes that would make it ambiguous).
  bool ComputeMac(std::string_view user, std::string_view password, std::string_view hash,
                  Mac* mac) const;
  std::chrono::steady_clock::time_point Now() const;

  const VerifierOptions options_;
  uint8_t* const key_;  // 32 bytes at the start of a private mmap'ed page

  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<Mac, std::list<Entry>::iterator, MacHash, MacEqual> index_;

  std::atomic<uint64_t> slow_verifications_{0};
  std::atomic<uint64_t> cache_hits_{0};
};

// ---------------------------------------------------------------------------
// ftpd passwd.

// What `ftpd passwd` changes besides the password.
struct UserUpdate {
  // The new home (as in the file's root field). Unset: keep it; a new user
  // gets "/".
  std::optional<std::string> root = {};
  // The new permissions. Unset: keep them; a new user gets read only.
  std::optional<Permissions> permissions = {};
};

enum class PasswdOutcome : uint8_t { kAdded, kUpdated };

// Returns `content` (a users file, labelled `file_name` in errors) with the
// line of user `name` set to `password_hash` and `update`, or a new line for
// the user appended. Every other line, comment and blank line is kept byte
// for byte. Refuses a file that does not parse, an invalid name, root or
// hash, with the error that names file:line. `*outcome` says which happened.
absl::StatusOr<std::string> UpdateUsersContent(std::string_view content, std::string_view file_name,
                                               std::string_view name,
                                               std::string_view password_hash,
                                               const UserUpdate& update, PasswdOutcome* outcome);

// `ftpd passwd`: hashes `password` (HashPassword) and writes the user into
// `users_file` (created, mode 0600, if missing) by UpdateUsersContent. The
// file is replaced atomically: the new content goes to a temporary file in
// the same directory, which takes the old file's mode and owner, is fsync'ed
// and renamed over it. A crash leaves the old file or the new, never a mix.
// Two concurrent runs may lose one update (last rename wins).
absl::StatusOr<PasswdOutcome> SetUserPassword(const std::string& users_file, std::string_view name,
                                              std::string_view password,
                                              const UserUpdate& update = {});

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_USERS_H_
