#include "ftpd/users.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <iterator>

#include "absl/strings/str_format.h"
#include "ftpd/path_jail.h"
#include "ftpd/unique_fd.h"

namespace tpslab::ftpd {
namespace {

constexpr size_t kMaxNameLength = 64;
// Inputs longer than these are never cached (they cannot be valid anyway).
constexpr size_t kMaxCachedUserLength = 256;
constexpr size_t kMaxCachedHashLength = CRYPT_OUTPUT_SIZE;
constexpr size_t kKeySize = 32;

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Errno(int err) {
  const char* text = strerrordesc_np(err);
  return text != nullptr ? text : absl::StrFormat("errno %d", err);
}

// A user name as the file allows it; the message says what is wrong.
absl::Status ValidateName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty user name");
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("user name longer than %d characters", kMaxNameLength));
  }
  if (!IsAlnum(name.front()) && name.front() != '_') {
    return absl::InvalidArgumentError(
        absl::StrFormat("user name \"%s\" must start with a letter, digit or '_'", name));
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrFormat("user name \"%s\" has a character outside A-Z a-z 0-9 . _ -", name));
    }
  }
  if (IsAnonymousName(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("user name \"%s\" is reserved for anonymous access", name));
  }
  return absl::OkStatus();
}

// A crypt(5) hash as the file allows it (see users.h).
absl::Status ValidateHash(std::string_view hash) {
  std::string_view h = hash;
  if (!h.empty() && h.front() == '!') {
    h.remove_prefix(1);
    if (h.empty()) return absl::OkStatus();  // locked, with no hash at all
  }
  if (h.empty()) return absl::InvalidArgumentError("empty password hash");
  if (h.size() >= CRYPT_OUTPUT_SIZE) return absl::InvalidArgumentError("password hash too long");
  for (char c : h) {
    if (!IsAlnum(c) && c != '.' && c != '/' && c != '$' && c != '=' && c != ',') {
      return absl::InvalidArgumentError(
          "password hash has a character that crypt(5) hashes never contain");
    }
  }
  const std::string setting(h);
  switch (crypt_checksalt(setting.c_str())) {
    case CRYPT_SALT_OK:
      return absl::OkStatus();
    case CRYPT_SALT_METHOD_LEGACY:
      return absl::InvalidArgumentError(
          "password hash uses a legacy method (DES, MD5, ...); set a new password with "
          "`ftpd passwd`");
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "password hash \"%.8s...\" is not a crypt(5) hash this libxcrypt supports", setting));
  }
}

// A home or upload directory: normalized to a virtual path; ".." refused.
absl::StatusOr<std::string> NormalizeDirectory(std::string_view text, std::string_view what) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start) == "..") {
      return absl::InvalidArgumentError(absl::StrFormat("%s \"%s\" contains \"..\"", what, text));
    }
    start = end + 1;
  }
  std::string normalized;
  if (absl::Status s = PathJail::Resolve("/", text, &normalized); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", what, std::string(s.message())));
  }
  return normalized;
}

absl::Status LineError(std::string_view file_name, int line, const absl::Status& cause) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s:%d: %s", file_name, line, std::string(cause.message())));
}

absl::StatusOr<UserEntry> ParseUserLine(std::string_view line, std::string_view file_name,
                                        int line_number) {
  std::string_view fields[4];
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t colon = line.find(':', start);
    const std::string_view field =
        line.substr(start, colon == std::string_view::npos ? line.npos : colon - start);
    if (count < 4) fields[count] = field;
    ++count;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (count != 4) {
    return LineError(file_name, line_number,
                     absl::InvalidArgumentError(absl::StrFormat(
                         "expected name:hash:root:permissions (4 fields separated by ':'), "
                         "found %d field%s",
                         count, count == 1 ? "" : "s")));
  }
  UserEntry entry;
  entry.line = line_number;
  if (absl::Status s = ValidateName(fields[0]); !s.ok()) {
    return LineError(file_name, line_number, s);
  }
  entry.name = std::string(fields[0]);
  if (absl::Status s = ValidateHash(fields[1]); !s.ok()) {
    return LineError(file_name, line_number,
                     absl::InvalidArgumentError(
                         absl::StrFormat("user \"%s\": %s", entry.name, std::string(s.message()))));
  }
  entry.password_hash = std::string(fields[1]);
  absl::StatusOr<std::string> root = NormalizeDirectory(fields[2], "root");
  if (!root.ok()) return LineError(file_name, line_number, root.status());
  entry.root = *std::move(root);
  absl::StatusOr<Permissions> permissions = Permissions::Parse(fields[3]);
  if (!permissions.ok()) return LineError(file_name, line_number, permissions.status());
  entry.permissions = *permissions;
  return entry;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, bool* missing, struct stat* st) {
  *missing = false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      *missing = true;
      return std::string();
    }
    const int err = errno;
    return absl::Status(
        err == EACCES ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kInternal,
        absl::StrFormat("cannot open %s: %s", path, Errno(err)));
  }
  if (::fstat(fd.get(), st) != 0) {
    return absl::InternalError(absl::StrFormat("cannot stat %s: %s", path, Errno(errno)));
  }
  std::string content;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrFormat("cannot read %s: %s", path, Errno(errno)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  return content;
}

// Replaces `path` by a file holding `content`, atomically (see users.h).
absl::Status WriteFileAtomically(const std::string& path, std::string_view content, bool existed,
                                 const struct stat& old) {
  std::string temp = path + ".XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return absl::InternalError(
        absl::StrFormat("cannot create a temporary file beside %s: %s", path, Errno(errno)));
  }
  auto fail = [&](std::string_view what, int err) {
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrFormat("%s %s: %s", what, temp, Errno(err)));
  };
  if (::fchmod(fd.get(), existed ? (old.st_mode & 07777) : 0600) != 0) {
    return fail("cannot chmod", errno);
  }
  if (existed && ::fchown(fd.get(), old.st_uid, old.st_gid) != 0 && errno != EPERM) {
    return fail("cannot chown", errno);
  }
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write", errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync", errno);
  if (::close(fd.release()) != 0) return fail("cannot close", errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return absl::InternalError(
        absl::StrFormat("cannot rename %s to %s: %s", temp, path, Errno(err)));
  }
  // Make the rename itself durable.
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) {
    return absl::InternalError(absl::StrFormat("cannot fsync %s: %s", dir, Errno(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// Permissions and accounts.

Permissions Account::PermissionsAt(std::string_view path) const {
  if (upload_dir.empty()) return permissions;
  const bool inside =
      upload_dir == "/" || path == upload_dir ||
      (path.size() > upload_dir.size() && path.substr(0, upload_dir.size()) == upload_dir &&
       path[upload_dir.size()] == '/');
  return inside ? upload_permissions : permissions;
}

bool IsAnonymousName(std::string_view name) {
  auto equals = [&](std::string_view word) {
    if (name.size() != word.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (ToLowerAscii(name[i]) != word[i]) return false;
    }
    return true;
  };
  return equals("anonymous") || equals("ftp");
}

absl::StatusOr<Account> AnonymousAccount(const AnonymousConfig& config) {
  if (!config.enabled) return absl::InvalidArgumentError("anonymous access is not enabled");
  if (config.root.empty()) {
    return absl::InvalidArgumentError(
        "anonymous access needs a root directory (anonymous.root; \"/\" for the whole server "
        "root)");
  }
  Account account;
  account.name = "anonymous";
  account.anonymous = true;
  absl::StatusOr<std::string> root = NormalizeDirectory(config.root, "anonymous root");
  if (!root.ok()) return root.status();
  account.root = *std::move(root);
  account.permissions = Permissions::ReadOnly();
  if (!config.upload_dir.empty()) {
    absl::StatusOr<std::string> upload =
        NormalizeDirectory(config.upload_dir, "anonymous upload_dir");
    if (!upload.ok()) return upload.status();
    account.upload_dir = *std::move(upload);
    account.upload_permissions = Permissions().With(Permission::kWrite).With(Permission::kMkdir);
    if (config.upload_readable) {
      account.upload_permissions = account.upload_permissions.With(Permission::kRead);
    }
  }
  return account;
}

Account UserEntry::ToAccount() const {
  Account account;
  account.name = name;
  account.root = root;
  account.permissions = permissions;
  return account;
}

// ---------------------------------------------------------------------------
// The users file.

absl::StatusOr<UsersFile> UsersFile::Parse(std::string_view content, std::string_view file_name) {
  UsersFile file;
  int line_number = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    absl::StatusOr<UserEntry> entry = ParseUserLine(line, file_name, line_number);
    if (!entry.ok()) return entry.status();
    if (auto it = file.by_name_.find(entry->name); it != file.by_name_.end()) {
      return LineError(
          file_name, line_number,
          absl::InvalidArgumentError(absl::StrFormat("user \"%s\" is already defined on line %d",
                                                     entry->name, file.users_[it->second].line)));
    }
    file.by_name_.emplace(entry->name, file.users_.size());
    file.users_.push_back(*std::move(entry));
  }
  return file;
}

absl::StatusOr<UsersFile> UsersFile::Load(const std::string& path) {
  bool missing = false;
  struct stat st;
  absl::StatusOr<std::string> content = ReadWholeFile(path, &missing, &st);
  if (!content.ok()) return content.status();
  if (missing) return absl::NotFoundError(absl::StrFormat("users file %s does not exist", path));
  return Parse(*content, path);
}

const UserEntry* UsersFile::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &users_[it->second];
}

// ---------------------------------------------------------------------------
// Password hashing.

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  if (password.empty()) return absl::InvalidArgumentError("empty password");
  if (password.size() > kMaxPasswordLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("password longer than %d bytes", kMaxPasswordLength));
  }
  if (password.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("password contains a NUL byte");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0: the method's default cost; rbytes null: libxcrypt draws the
  // salt from the operating system's random generator.
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof(setting)) == nullptr) {
    return absl::InternalError(
        absl::StrFormat("crypt_gensalt_rn(\"$y$\") failed: %s", Errno(errno)));
  }
  char phrase[kMaxPasswordLength + 1];
  std::memcpy(phrase, password.data(), password.size());
  phrase[password.size()] = '\0';
  auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_rn requires
  const char* hashed = crypt_rn(phrase, setting, data.get(), sizeof(crypt_data));
  const int err = errno;
  std::string result = hashed != nullptr ? std::string(hashed) : std::string();
  explicit_bzero(phrase, sizeof(phrase));
  explicit_bzero(data.get(), sizeof(crypt_data));
  if (hashed == nullptr) {
    return absl::InternalError(absl::StrFormat("crypt_rn failed: %s", Errno(err)));
  }
  return result;
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  if (password.size() > kMaxPasswordLength || password.find('\0') != std::string_view::npos) {
    return false;
  }
  if (hash.empty() || hash.front() == '!' || hash.size() >= CRYPT_OUTPUT_SIZE ||
      hash.find('\0') != std::string_view::npos) {
    return false;
  }
  char phrase[kMaxPasswordLength + 1];
  std::memcpy(phrase, password.data(), password.size());
  phrase[password.size()] = '\0';
  char setting[CRYPT_OUTPUT_SIZE];
  std::memcpy(setting, hash.data(), hash.size());
  setting[hash.size()] = '\0';
  auto data = std::make_unique<crypt_data>();
  const char* hashed = crypt_rn(phrase, setting, data.get(), sizeof(crypt_data));
  bool match = false;
  if (hashed != nullptr) {
    const size_t length = std::strlen(hashed);
    match = length == hash.size() && CRYPTO_memcmp(hashed, hash.data(), length) == 0;
  }
  explicit_bzero(phrase, sizeof(phrase));
  explicit_bzero(data.get(), sizeof(crypt_data));
  return match;
}

// ---------------------------------------------------------------------------
// PasswordVerifier.

size_t PasswordVerifier::MacHash::operator()(const Mac& mac) const {
  // The MAC is uniformly random, so any 8 of its bytes make a good hash.
  size_t h;
  std::memcpy(&h, mac.data(), sizeof(h));
  return h;
}

bool PasswordVerifier::MacEqual::operator()(const Mac& a, const Mac& b) const {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::unique_ptr<PasswordVerifier>> PasswordVerifier::Create(
    VerifierOptions options) {
  const long page_size = ::sysconf(_SC_PAGESIZE);
  void* page = ::mmap(nullptr, static_cast<size_t>(page_size), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("cannot map a page for the verifier key: %s", Errno(errno)));
  }
  // Best effort, each: keep the key out of core dumps, out of forked
  // children, and out of swap.
  ::madvise(page, static_cast<size_t>(page_size), MADV_DONTDUMP);
  ::madvise(page, static_cast<size_t>(page_size), MADV_WIPEONFORK);
  ::mlock(page, static_cast<size_t>(page_size));
  auto* key = static_cast<uint8_t*>(page);
  if (RAND_bytes(key, static_cast<int>(kKeySize)) != 1) {
    ::munmap(page, static_cast<size_t>(page_size));
    return absl::InternalError("RAND_bytes failed to produce the verifier key");
  }
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options.slow_verify) options.slow_verify = VerifyPassword;
  return std::unique_ptr<PasswordVerifier>(new PasswordVerifier(std::move(options), key));
}

PasswordVerifier::PasswordVerifier(VerifierOptions options, uint8_t* key)
    : options_(std::move(options)), key_(key) {}

PasswordVerifier::~PasswordVerifier() {
  const size_t page_size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  explicit_bzero(key_, kKeySize);
  ::munlock(key_, page_size);
  ::munmap(key_, page_size);
}

bool PasswordVerifier::cache_enabled() const {
  return options_.cache_capacity > 0 && options_.cache_ttl.count() > 0;
}

std::chrono::steady_clock::time_point PasswordVerifier::Now() const { return options_.clock(); }

bool PasswordVerifier::ComputeMac(std::string_view user, std::string_view password,
                                  std::string_view hash, Mac* mac) const {
  // The 0 separators are unambiguous because user and password hold no NUL.
  if (user.size() > kMaxCachedUserLength || password.size() > kMaxPasswordLength ||
      hash.size() > kMaxCachedHashLength || user.find('\0') != std::string_view::npos ||
      password.find('\0') != std::string_view::npos) {
    return false;
  }
  char message[kMaxCachedUserLength + 1 + kMaxPasswordLength + 1 + kMaxCachedHashLength];
  size_t length = 0;
  std::memcpy(message + length, user.data(), user.size());
  length += user.size();
  message[length++] = '\0';
  std::memcpy(message + length, password.data(), password.size());
  length += password.size();
  message[length++] = '\0';
  std::memcpy(message + length, hash.data(), hash.size());
  length += hash.size();
  unsigned int mac_length = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key_, static_cast<int>(kKeySize),
           reinterpret_cast<unsigned char*>(message), length, mac->data(), &mac_length);
  explicit_bzero(message, length);
  return result != nullptr && mac_length == mac->size();
}

bool PasswordVerifier::VerifyCached(std::string_view user, std::string_view password,
                                    std::string_view hash) {
  if (!cache_enabled()) return false;
  Mac mac;
  if (!ComputeMac(user, password, hash, &mac)) return false;
  bool hit = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(mac);
    if (it != index_.end()) {
      if (Now() - it->second->inserted < options_.cache_ttl) {
        lru_.splice(lru_.begin(), lru_, it->second);
        hit = true;
      } else {
        lru_.erase(it->second);
        index_.erase(it);
      }
    }
  }
  if (hit) cache_hits_.fetch_add(1, std::memory_order_relaxed);
  return hit;
}

bool PasswordVerifier::Verify(std::string_view user, std::string_view password,
                              std::string_view hash) {
  if (VerifyCached(user, password, hash)) return true;
  slow_verifications_.fetch_add(1, std::memory_order_relaxed);
  if (!options_.slow_verify(password, hash)) return false;
  Mac mac;
  if (!cache_enabled() || !ComputeMac(user, password, hash, &mac)) return true;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Now();
  if (auto it = index_.find(mac); it != index_.end()) {
    it->second->inserted = now;
    lru_.splice(lru_.begin(), lru_, it->second);
    return true;
  }
  lru_.push_front(Entry{mac, now});
  index_.emplace(mac, lru_.begin());
  while (lru_.size() > options_.cache_capacity) {
    index_.erase(lru_.back().mac);
    lru_.pop_back();
  }
  return true;
}

void PasswordVerifier::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  index_.clear();
  lru_.clear();
}

size_t PasswordVerifier::cache_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

// ---------------------------------------------------------------------------
// ftpd passwd.

absl::StatusOr<std::string> UpdateUsersContent(std::string_view content, std::string_view file_name,
                                               std::string_view name,
                                               std::string_view password_hash,
                                               const UserUpdate& update, PasswdOutcome* outcome) {
  absl::StatusOr<UsersFile> file = UsersFile::Parse(content, file_name);
  if (!file.ok()) return file.status();
  if (absl::Status s = ValidateName(name); !s.ok()) return s;
  if (absl::Status s = ValidateHash(password_hash); !s.ok()) return s;

  const UserEntry* existing = file->Find(name);
  std::string root = existing != nullptr ? existing->root : "/";
  if (update.root.has_value()) {
    absl::StatusOr<std::string> normalized = NormalizeDirectory(*update.root, "root");
    if (!normalized.ok()) return normalized.status();
    root = *std::move(normalized);
  }
  if (root.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("root \"%s\" contains ':', which the users file cannot hold", root));
  }
  const Permissions permissions = update.permissions.value_or(
      existing != nullptr ? existing->permissions : Permissions::ReadOnly());
  const std::string line =
      absl::StrFormat("%s:%s:%s:%s", name, password_hash, root, permissions.ToString());

  std::string result;
  if (existing == nullptr) {
    result = std::string(content);
    if (!result.empty() && result.back() != '\n') result.push_back('\n');
    result += line;
    result.push_back('\n');
    *outcome = PasswdOutcome::kAdded;
  } else {
    // Replace the text of line `existing->line`, keeping its terminator.
    size_t start = 0;
    for (int i = 1; i < existing->line; ++i) start = content.find('\n', start) + 1;
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    if (end > start && content[end - 1] == '\r') --end;
    result = std::string(content.substr(0, start));
    result += line;
    result.append(content.substr(end));
    *outcome = PasswdOutcome::kUpdated;
  }
  // The result must read back as a valid file, with the user as written.
  absl::StatusOr<UsersFile> check = UsersFile::Parse(result, file_name);
  if (!check.ok()) return check.status();
  return result;
}

absl::StatusOr<PasswdOutcome> SetUserPassword(const std::string& users_file, std::string_view name,
                                              std::string_view password, const UserUpdate& update) {
  bool missing = false;
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  absl::StatusOr<std::string> content = ReadWholeFile(users_file, &missing, &st);
  if (!content.ok()) return content.status();
  // Check everything cheap before paying for the hash.
  PasswdOutcome outcome;
  if (absl::StatusOr<std::string> dry_run =
          UpdateUsersContent(*content, users_file, name, "!", update, &outcome);
      !dry_run.ok()) {
    return dry_run.status();
  }
  absl::StatusOr<std::string> hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  absl::StatusOr<std::string> updated =
      UpdateUsersContent(*content, users_file, name, *hash, update, &outcome);
  if (!updated.ok()) return updated.status();
  if (absl::Status s = WriteFileAtomically(users_file, *updated, !missing, st); !s.ok()) return s;
  return outcome;
}

}  // namespace tpslab::ftpd
