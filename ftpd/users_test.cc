#include "ftpd/users.h"

#include <crypt.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// One real yescrypt hash, computed once: each costs tens of milliseconds.
const std::string& SecretHash() {
  static const std::string* hash = new std::string(*HashPassword("s3cret pass"));
  return *hash;
}

// ---------------------------------------------------------------------------
// Permissions and accounts.

TEST(AccountTest, UploadDirPermissionsApplyOnlyInside) {
  Account account;
  account.permissions = Permissions::ReadOnly();
  account.upload_dir = "/incoming";
  account.upload_permissions = Permissions().With(Permission::kWrite);
  EXPECT_EQ(account.PermissionsAt("/"), Permissions::ReadOnly());
  EXPECT_EQ(account.PermissionsAt("/pub/file"), Permissions::ReadOnly());
  EXPECT_EQ(account.PermissionsAt("/incoming"), account.upload_permissions);
  EXPECT_EQ(account.PermissionsAt("/incoming/a/b"), account.upload_permissions);
  // A sibling that merely shares the prefix is not inside.
  EXPECT_EQ(account.PermissionsAt("/incomingX"), Permissions::ReadOnly());
  EXPECT_EQ(account.PermissionsAt("/incoming.d/x"), Permissions::ReadOnly());
  account.upload_dir.clear();
  EXPECT_EQ(account.PermissionsAt("/incoming/a"), Permissions::ReadOnly());
}

TEST(AnonymousTest, Names) {
  EXPECT_TRUE(IsAnonymousName("anonymous"));
  EXPECT_TRUE(IsAnonymousName("Anonymous"));
  EXPECT_TRUE(IsAnonymousName("FTP"));
  EXPECT_FALSE(IsAnonymousName("anon"));
  EXPECT_FALSE(IsAnonymousName("ftpuser"));
}

TEST(AnonymousTest, ReadOnlyByDefault) {
  absl::StatusOr<Account> account = AnonymousAccount({.enabled = true, .root = "pub/"});
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_TRUE(account->anonymous);
  EXPECT_EQ(account->name, "anonymous");
  EXPECT_EQ(account->root, "/pub");
  EXPECT_EQ(account->PermissionsAt("/anything"), Permissions::ReadOnly());
  EXPECT_TRUE(account->upload_dir.empty());
}

TEST(AnonymousTest, UploadArea) {
  absl::StatusOr<Account> account =
      AnonymousAccount({.enabled = true, .root = "/", .upload_dir = "/incoming"});
  ASSERT_TRUE(account.ok()) << account.status();
  const Permissions inside = account->PermissionsAt("/incoming/new.bin");
  EXPECT_TRUE(inside.Has(Permission::kWrite));
  EXPECT_TRUE(inside.Has(Permission::kMkdir));
  EXPECT_FALSE(inside.Has(Permission::kRead));  // not a drop box for others
  EXPECT_FALSE(inside.Has(Permission::kDelete));
  EXPECT_FALSE(inside.Has(Permission::kRename));
  EXPECT_FALSE(account->PermissionsAt("/pub/x").Has(Permission::kWrite));

  account = AnonymousAccount(
      {.enabled = true, .root = "/", .upload_dir = "incoming", .upload_readable = true});
  ASSERT_TRUE(account.ok());
  EXPECT_TRUE(account->PermissionsAt("/incoming/f").Has(Permission::kRead));
}

TEST(AnonymousTest, ConfigErrors) {
  EXPECT_THAT(AnonymousAccount({}).status().message(), HasSubstr("not enabled"));
  EXPECT_THAT(AnonymousAccount({.enabled = true}).status().message(),
              HasSubstr("needs a root directory"));
  EXPECT_THAT(AnonymousAccount({.enabled = true, .root = "/pub/../.."}).status().message(),
              HasSubstr("anonymous root \"/pub/../..\" contains \"..\""));
  EXPECT_THAT(
      AnonymousAccount({.enabled = true, .root = "/", .upload_dir = "../x"}).status().message(),
      HasSubstr("upload_dir"));
}

// ---------------------------------------------------------------------------
// The users file.

TEST(UsersFileTest, ParsesValidFile) {
  const std::string content =
      "# ftpd users\n"
      "\n"
      "   # indented comment\n"
      "alice:" +
      SecretHash() +
      ":/alice:all\n"
      "bob:" +
      SecretHash() +
      ":shared/docs/:read, mkdir\r\n"
      "   \t\n"
      "carol:!" +
      SecretHash() +
      ":/:none\n"
      "dave:!::\n"
      "e.v-e_1:" +
      SecretHash() + ":a//b:write";  // no final newline
  absl::StatusOr<UsersFile> file = UsersFile::Parse(content, "users.txt");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->users().size(), 5u);

  const UserEntry* alice = file->Find("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->password_hash, SecretHash());
  EXPECT_EQ(alice->root, "/alice");
  EXPECT_EQ(alice->permissions, Permissions::All());
  EXPECT_EQ(alice->line, 4);
  EXPECT_FALSE(alice->locked());

  const UserEntry* bob = file->Find("bob");
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->root, "/shared/docs");
  EXPECT_EQ(bob->permissions.ToString(), "read,mkdir");
  EXPECT_EQ(bob->password_hash, SecretHash());  // the CR is not part of the line

  EXPECT_TRUE(file->Find("carol")->locked());
  EXPECT_EQ(file->Find("carol")->root, "/");
  EXPECT_TRUE(file->Find("carol")->permissions.empty());
  EXPECT_TRUE(file->Find("dave")->locked());
  EXPECT_EQ(file->Find("e.v-e_1")->root, "/a/b");
  EXPECT_EQ(file->Find("ALICE"), nullptr);  // names are case-sensitive
  EXPECT_EQ(file->Find("nobody"), nullptr);

  const Account account = alice->ToAccount();
  EXPECT_EQ(account.name, "alice");
  EXPECT_EQ(account.root, "/alice");
  EXPECT_FALSE(account.anonymous);
}

TEST(UsersFileTest, EachInvalidFormNamesFileAndLine) {
  const std::string& h = SecretHash();
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"alice:" + h + ":/alice",
       "expected name:hash:root:permissions (4 fields separated by "
       "':'), found 3 fields"},
      {"alice:" + h + ":/alice:read:extra", "found 5 fields"},
      {"just-a-name", "found 1 field"},
      {":" + h + ":/:read", "empty user name"},
      {"al ice:" + h + ":/:read", "has a character outside"},
      {"-alice:" + h + ":/:read", "must start with a letter, digit or '_'"},
      {std::string(65, 'a') + ":" + h + ":/:read", "longer than 64 characters"},
      {"anonymous:" + h + ":/:read", "reserved for anonymous access"},
      {"FTP:" + h + ":/:read", "reserved for anonymous access"},
      {"alice::/:read", "user \"alice\": empty password hash"},
      {"alice:plaintext pw:/:read", "character that crypt(5) hashes never contain"},
      {"alice:abJnggxhB/yWI:/:read", "legacy method"},                   // DES
      {"alice:$1$salt$qJH7.N4xYta3aEG/dfqo/0:/:read", "legacy method"},  // MD5
      {"alice:$9$abc$def:/:read", "not a crypt(5) hash this libxcrypt supports"},
      {"alice:" + h + ":/home/../etc:read", "root \"/home/../etc\" contains \"..\""},
      {"alice:" + h + ":..:read", "contains \"..\""},
      {"alice:" + h + ":/" + std::string(300, 'x') + ":read", "NAME_MAX"},
      {"alice:" + h + ":/:read,execute", "unknown permission \"execute\""},
  };
  for (const Case& c : cases) {
    const std::string content = "# header\n\nbob:" + h + ":/bob:read\n" + c.line + "\n";
    absl::StatusOr<UsersFile> file = UsersFile::Parse(content, "/etc/ftpd/users");
    ASSERT_FALSE(file.ok()) << c.line;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(std::string(file.status().message()), StartsWith("/etc/ftpd/users:4: ")) << c.line;
    EXPECT_THAT(file.status().message(), HasSubstr(c.message)) << c.line;
  }
}

TEST(UsersFileTest, DuplicateUserNamesBothLines) {
  const std::string content =
      "alice:" + SecretHash() + ":/:read\n#\nalice:" + SecretHash() + ":/:all\n";
  absl::StatusOr<UsersFile> file = UsersFile::Parse(content, "u");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(),
              HasSubstr("u:3: user \"alice\" is already defined on line 1"));
}

TEST(UsersFileTest, AcceptsOtherCurrentHashMethods) {
  // A SHA-512 crypt hash, as older tools write them.
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$6$", 0, nullptr, 0, setting, sizeof(setting)), nullptr);
  crypt_data data = {};
  const char* sha512 = crypt_rn("pw", setting, &data, sizeof(data));
  ASSERT_NE(sha512, nullptr);
  absl::StatusOr<UsersFile> file =
      UsersFile::Parse(absl::StrFormat("old:%s:/:read\n", sha512), "u");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(VerifyPassword("pw", file->Find("old")->password_hash));
  EXPECT_FALSE(VerifyPassword("pW", file->Find("old")->password_hash));
}

TEST(UsersFileTest, LoadReportsMissingFile) {
  absl::StatusOr<UsersFile> file = UsersFile::Load("/nonexistent/users");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("/nonexistent/users does not exist"));
}

// ---------------------------------------------------------------------------
// Hashing.

TEST(HashTest, RoundTrip) {
  const std::string& hash = SecretHash();
  EXPECT_THAT(hash, StartsWith("$y$"));
  EXPECT_TRUE(VerifyPassword("s3cret pass", hash));
  EXPECT_FALSE(VerifyPassword("s3cret pasS", hash));
  EXPECT_FALSE(VerifyPassword("", hash));
  // Fresh salt every time.
  absl::StatusOr<std::string> again = HashPassword("s3cret pass");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, hash);
  EXPECT_TRUE(VerifyPassword("s3cret pass", *again));
}

TEST(HashTest, NulCannotTruncateAPassword) {
  absl::StatusOr<std::string> hash = HashPassword("abc");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword("abc", *hash));
  EXPECT_FALSE(VerifyPassword(std::string("abc\0def", 7), *hash));
}

TEST(HashTest, LockedAndMalformedHashesNeverVerify) {
  EXPECT_FALSE(VerifyPassword("s3cret pass", "!" + SecretHash()));
  EXPECT_FALSE(VerifyPassword("s3cret pass", ""));
  EXPECT_FALSE(VerifyPassword("s3cret pass", "*"));
  EXPECT_FALSE(VerifyPassword("s3cret pass", "$y$"));
  EXPECT_FALSE(VerifyPassword("s3cret pass", SecretHash().substr(0, SecretHash().size() - 1)));
}

TEST(HashTest, RefusesUnhashablePasswords) {
  EXPECT_THAT(HashPassword("").status().message(), HasSubstr("empty password"));
  EXPECT_THAT(HashPassword(std::string("a\0b", 3)).status().message(), HasSubstr("NUL byte"));
  EXPECT_THAT(HashPassword(std::string(kMaxPasswordLength + 1, 'p')).status().message(),
              HasSubstr("longer than 1024 bytes"));
  EXPECT_FALSE(VerifyPassword(std::string(kMaxPasswordLength + 1, 'p'), SecretHash()));
}

// ---------------------------------------------------------------------------
// The verification cache.

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  std::function<std::chrono::steady_clock::time_point()> Function() {
    return [this] { return now; };
  }
};

// A slow check that counts its calls: "good" verifies against any hash.
struct CountingCheck {
  std::atomic<int> calls{0};
  std::function<bool(std::string_view, std::string_view)> Function() {
    return [this](std::string_view password, std::string_view) {
      ++calls;
      return password == "good";
    };
  }
};

std::unique_ptr<PasswordVerifier> MakeVerifier(VerifierOptions options) {
  absl::StatusOr<std::unique_ptr<PasswordVerifier>> v = PasswordVerifier::Create(options);
  EXPECT_TRUE(v.ok()) << v.status();
  return std::move(*v);
}

TEST(VerifierTest, SecondLoginHitsCacheWithRealHash) {
  std::unique_ptr<PasswordVerifier> v = MakeVerifier({});
  EXPECT_FALSE(v->VerifyCached("alice", "s3cret pass", SecretHash()));
  EXPECT_EQ(v->slow_verifications(), 0u);
  EXPECT_TRUE(v->Verify("alice", "s3cret pass", SecretHash()));
  EXPECT_EQ(v->slow_verifications(), 1u);
  EXPECT_TRUE(v->Verify("alice", "s3cret pass", SecretHash()));
  EXPECT_TRUE(v->VerifyCached("alice", "s3cret pass", SecretHash()));
  EXPECT_EQ(v->slow_verifications(), 1u);
  EXPECT_EQ(v->cache_hits(), 2u);
}

TEST(VerifierTest, FailuresAreNeverCached) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v = MakeVerifier({.slow_verify = check.Function()});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(v->Verify("alice", "bad", "$h"));
  EXPECT_EQ(check.calls, 3);
  EXPECT_EQ(v->cache_size(), 0u);
  EXPECT_FALSE(v->VerifyCached("alice", "bad", "$h"));
}

TEST(VerifierTest, KeyCoversUserPasswordAndHash) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v = MakeVerifier({.slow_verify = check.Function()});
  ASSERT_TRUE(v->Verify("alice", "good", "$hash1"));
  EXPECT_TRUE(v->VerifyCached("alice", "good", "$hash1"));
  EXPECT_FALSE(v->VerifyCached("bob", "good", "$hash1"));
  EXPECT_FALSE(v->VerifyCached("alice", "good2", "$hash1"));
  // A changed stored hash (new password set) invalidates the entry.
  EXPECT_FALSE(v->VerifyCached("alice", "good", "$hash2"));
  // Separators keep ("ab", "c") and ("a", "bc") apart.
  ASSERT_TRUE(v->Verify("ab", "good", "$h"));
  EXPECT_FALSE(v->VerifyCached("a", "bgood", "$h"));
  EXPECT_FALSE(v->VerifyCached(std::string("alice\0good", 10), "", "$hash1"));
  EXPECT_EQ(check.calls, 2);
}

TEST(VerifierTest, TtlCountsFromTheSlowCheck) {
  FakeClock clock;
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v = MakeVerifier({.cache_ttl = std::chrono::seconds(300),
                                                      .clock = clock.Function(),
                                                      .slow_verify = check.Function()});
  ASSERT_TRUE(v->Verify("alice", "good", "$h"));
  clock.now += std::chrono::seconds(200);
  EXPECT_TRUE(v->Verify("alice", "good", "$h"));  // hit; does not extend
  clock.now += std::chrono::seconds(99);          // 299 s after the slow check
  EXPECT_TRUE(v->VerifyCached("alice", "good", "$h"));
  clock.now += std::chrono::seconds(1);  // 300 s: expired
  EXPECT_FALSE(v->VerifyCached("alice", "good", "$h"));
  EXPECT_EQ(v->cache_size(), 0u);  // dropped on lookup
  EXPECT_EQ(check.calls, 1);
  EXPECT_TRUE(v->Verify("alice", "good", "$h"));
  EXPECT_EQ(check.calls, 2);
  EXPECT_TRUE(v->VerifyCached("alice", "good", "$h"));
}

TEST(VerifierTest, CapacityEvictsLeastRecentlyUsed) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v =
      MakeVerifier({.cache_capacity = 2, .slow_verify = check.Function()});
  ASSERT_TRUE(v->Verify("a", "good", "$h"));
  ASSERT_TRUE(v->Verify("b", "good", "$h"));
  EXPECT_TRUE(v->VerifyCached("a", "good", "$h"));  // a is now the most recent
  ASSERT_TRUE(v->Verify("c", "good", "$h"));        // evicts b
  EXPECT_EQ(v->cache_size(), 2u);
  EXPECT_TRUE(v->VerifyCached("a", "good", "$h"));
  EXPECT_TRUE(v->VerifyCached("c", "good", "$h"));
  EXPECT_FALSE(v->VerifyCached("b", "good", "$h"));
  EXPECT_EQ(check.calls, 3);
}

TEST(VerifierTest, DisabledCache) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v =
      MakeVerifier({.cache_capacity = 0, .slow_verify = check.Function()});
  EXPECT_TRUE(v->Verify("a", "good", "$h"));
  EXPECT_TRUE(v->Verify("a", "good", "$h"));
  EXPECT_EQ(check.calls, 2);
  EXPECT_EQ(v->cache_size(), 0u);

  CountingCheck check2;
  v = MakeVerifier({.cache_ttl = std::chrono::seconds(0), .slow_verify = check2.Function()});
  EXPECT_TRUE(v->Verify("a", "good", "$h"));
  EXPECT_TRUE(v->Verify("a", "good", "$h"));
  EXPECT_EQ(check2.calls, 2);
}

TEST(VerifierTest, ClearDropsEverything) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v = MakeVerifier({.slow_verify = check.Function()});
  ASSERT_TRUE(v->Verify("a", "good", "$h"));
  v->Clear();
  EXPECT_FALSE(v->VerifyCached("a", "good", "$h"));
}

TEST(VerifierTest, EachVerifierHasItsOwnKey) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v1 = MakeVerifier({.slow_verify = check.Function()});
  std::unique_ptr<PasswordVerifier> v2 = MakeVerifier({.slow_verify = check.Function()});
  ASSERT_TRUE(v1->Verify("a", "good", "$h"));
  EXPECT_FALSE(v2->VerifyCached("a", "good", "$h"));
}

TEST(VerifierTest, ConcurrentUse) {
  CountingCheck check;
  std::unique_ptr<PasswordVerifier> v =
      MakeVerifier({.cache_capacity = 8, .slow_verify = check.Function()});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string user = "u" + std::to_string((i + t) % 16);
        if (!v->Verify(user, "good", "$h")) ++failures;
        if (v->Verify(user, "bad", "$h")) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(v->cache_size(), 8u);
  EXPECT_EQ(v->slow_verifications() + v->cache_hits(), 4000u);
}

// ---------------------------------------------------------------------------
// ftpd passwd.

TEST(UpdateUsersContentTest, AddsToEmptyAndUnterminatedFiles) {
  PasswdOutcome outcome;
  absl::StatusOr<std::string> out =
      UpdateUsersContent("", "u", "alice", SecretHash(), {}, &outcome);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(outcome, PasswdOutcome::kAdded);
  EXPECT_EQ(*out, "alice:" + SecretHash() + ":/:read\n");

  out = UpdateUsersContent("# no newline", "u", "bob", SecretHash(),
                           {.root = "bob", .permissions = Permissions::All()}, &outcome);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "# no newline\nbob:" + SecretHash() + ":/bob:read,write,delete,mkdir,rename\n");
}

TEST(UpdateUsersContentTest, UpdatesInPlaceKeepingEverythingElse) {
  const std::string old_hash = *HashPassword("old");
  const std::string content =
      "# users\r\n"
      "alice:" +
      old_hash +
      ":/alice:read,write\r\n"
      "\n"
      "# bob below\n"
      "bob:" +
      old_hash + ":/bob:read";
  PasswdOutcome outcome;
  // Password only: root and permissions stay.
  absl::StatusOr<std::string> out =
      UpdateUsersContent(content, "u", "alice", SecretHash(), {}, &outcome);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(outcome, PasswdOutcome::kUpdated);
  EXPECT_EQ(*out,
            "# users\r\n"
            "alice:" +
                SecretHash() +
                ":/alice:read,write\r\n"
                "\n"
                "# bob below\n"
                "bob:" +
                old_hash + ":/bob:read");
  // Root and permissions too, on the last line without a newline.
  out = UpdateUsersContent(content, "u", "bob", SecretHash(),
                           {.root = "/shared", .permissions = Permissions()}, &outcome);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            "# users\r\n"
            "alice:" +
                old_hash +
                ":/alice:read,write\r\n"
                "\n"
                "# bob below\n"
                "bob:" +
                SecretHash() + ":/shared:none");
}

TEST(UpdateUsersContentTest, Refusals) {
  PasswdOutcome outcome;
  absl::StatusOr<std::string> out =
      UpdateUsersContent("good:" + SecretHash() + ":/:read\nbroken line\n", "/etc/users", "alice",
                         SecretHash(), {}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("/etc/users:2: expected name:hash:root"));
  out = UpdateUsersContent("", "u", "bad name", SecretHash(), {}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("character outside"));
  out = UpdateUsersContent("", "u", "anonymous", SecretHash(), {}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("reserved"));
  out = UpdateUsersContent("", "u", "alice", SecretHash(), {.root = "../up"}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("contains \"..\""));
  out = UpdateUsersContent("", "u", "alice", SecretHash(), {.root = "/a:b"}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("contains ':'"));
  out = UpdateUsersContent("", "u", "alice", "$9$abc", {}, &outcome);
  EXPECT_THAT(out.status().message(), HasSubstr("not a crypt(5) hash"));
}

std::string ReadHostFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SetUserPasswordTest, AddsThenUpdatesAtomically) {
  const fs::path dir = fs::path(std::getenv("TEST_TMPDIR")) / "passwd";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "users").string();

  absl::StatusOr<PasswdOutcome> outcome =
      SetUserPassword(path, "alice", "first", {.root = "/alice"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, PasswdOutcome::kAdded);
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write);

  // An admin adds a comment and loosens the mode; both must survive.
  {
    std::ofstream out(path, std::ios::app);
    out << "# managed by ftpd passwd\n";
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

  outcome = SetUserPassword(path, "alice", "second");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, PasswdOutcome::kUpdated);
  outcome = SetUserPassword(path, "bob", "bobpw", {.permissions = Permissions::All()});
  ASSERT_TRUE(outcome.ok()) << outcome.status();

  absl::StatusOr<UsersFile> file = UsersFile::Load(path);
  ASSERT_TRUE(file.ok()) << file.status();
  const UserEntry* alice = file->Find("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->root, "/alice");
  EXPECT_EQ(alice->permissions, Permissions::ReadOnly());
  EXPECT_TRUE(VerifyPassword("second", alice->password_hash));
  EXPECT_FALSE(VerifyPassword("first", alice->password_hash));
  EXPECT_EQ(file->Find("bob")->permissions, Permissions::All());
  EXPECT_THAT(ReadHostFile(path), HasSubstr("\n# managed by ftpd passwd\n"));
  EXPECT_EQ(fs::status(path).permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

  // No temporary is left behind.
  int entries = 0;
  for ([[maybe_unused]] const fs::directory_entry& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(SetUserPasswordTest, RefusesBeforeHashingOrWriting) {
  const fs::path dir = fs::path(std::getenv("TEST_TMPDIR")) / "passwd_refuse";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "users").string();
  {
    std::ofstream out(path);
    out << "broken\n";
  }
  absl::StatusOr<PasswdOutcome> outcome = SetUserPassword(path, "alice", "pw");
  EXPECT_THAT(outcome.status().message(), HasSubstr(path + ":1: expected"));
  EXPECT_EQ(ReadHostFile(path), "broken\n");

  outcome = SetUserPassword((dir / "new").string(), "alice", "");
  EXPECT_THAT(outcome.status().message(), HasSubstr("empty password"));
  EXPECT_FALSE(fs::exists(dir / "new"));

  outcome = SetUserPassword((dir / "missing_dir" / "users").string(), "alice", "pw");
  EXPECT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(), HasSubstr("temporary file"));
}

}  // namespace
}  // namespace tpslab::ftpd
