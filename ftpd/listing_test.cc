#include "ftpd/listing.h"

#include <sys/stat.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tpslab::ftpd {
namespace {

constexpr int64_t kNow = 1709650800;         // 2024-03-05 15:00:00 UTC
constexpr int64_t kRecent = 1709647620;      // 2024-03-05 14:07:00
constexpr int64_t kJustRecent = 1693958400;  // 2023-09-06 00:00:00, inside six months
constexpr int64_t kOld = 1693526400;         // 2023-09-01 00:00:00, older than six months
constexpr int64_t kFuture = 1735114150;      // 2024-12-25 08:09:10

ListEntry File(std::string_view name, int64_t mtime, uint64_t size = 1024,
               mode_t mode = S_IFREG | 0644) {
  ListEntry e;
  e.name = name;
  e.mode = mode;
  e.links = 1;
  e.size = size;
  e.mtime = {mtime, 0};
  e.device = 0x803;
  e.inode = 0x1a2b;
  return e;
}

ListEntry Dir(std::string_view name, int64_t mtime, mode_t mode = S_IFDIR | 0755) {
  ListEntry e = File(name, mtime, 4096, mode);
  e.links = 2;
  return e;
}

std::string List(const ListEntry& e, ListFormat format = {.now = kNow}) {
  std::string out;
  EXPECT_TRUE(AppendListLine(e, format, &out));
  return out;
}

TEST(ListTest, RecentFile) {
  EXPECT_EQ(List(File("report.txt", kRecent)),
            "-rw-r--r--    1 ftp      ftp              1024 Mar 05 14:07 report.txt\r\n");
}

TEST(ListTest, OldDirectoryShowsYear) {
  EXPECT_EQ(List(Dir("pub", kOld)),
            "drwxr-xr-x    2 ftp      ftp              4096 Sep 01  2023 pub\r\n");
}

TEST(ListTest, SixMonthBoundaryAndFuture) {
  EXPECT_EQ(List(File("a", kJustRecent, 0)),
            "-rw-r--r--    1 ftp      ftp                 0 Sep 06 00:00 a\r\n");
  // A time in the future is not "recent", as in ls.
  EXPECT_EQ(List(File("b", kFuture, 0)),
            "-rw-r--r--    1 ftp      ftp                 0 Dec 25  2024 b\r\n");
}

TEST(ListTest, OwnerGroupAndLargeSizes) {
  ListEntry e = File("big.iso", kRecent, 5000000000ull);
  e.links = 12345;
  EXPECT_EQ(List(e, {.now = kNow, .owner = "alice", .group = "staff"}),
            "-rw-r--r-- 12345 alice    staff      5000000000 Mar 05 14:07 big.iso\r\n");
}

TEST(ListTest, ModeStrings) {
  struct Case {
    mode_t mode;
    const char* text;
  };
  for (const Case& c : {Case{S_IFREG | 04755, "-rwsr-xr-x"}, Case{S_IFREG | 04644, "-rwSr--r--"},
                        Case{S_IFREG | 02755, "-rwxr-sr-x"}, Case{S_IFREG | 02644, "-rw-r-Sr--"},
                        Case{S_IFDIR | 01777, "drwxrwxrwt"}, Case{S_IFDIR | 01776, "drwxrwxrwT"},
                        Case{S_IFLNK | 0777, "lrwxrwxrwx"}, Case{S_IFIFO | 0600, "prw-------"},
                        Case{S_IFSOCK | 0755, "srwxr-xr-x"}, Case{S_IFCHR | 0620, "crw--w----"},
                        Case{S_IFBLK | 0660, "brw-rw----"}, Case{S_IFREG | 0, "----------"}}) {
    const std::string line = List(File("x", kRecent, 0, c.mode));
    EXPECT_EQ(line.substr(0, 10), c.text) << std::oct << c.mode;
  }
}

TEST(ListTest, Utf8NamesPassThrough) {
  const std::string name = "r\xC3\xA9sum\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC.txt";
  EXPECT_EQ(List(File(name, kRecent, 7)),
            "-rw-r--r--    1 ftp      ftp                 7 Mar 05 14:07 " + name + "\r\n");
}

TEST(ListTest, NamesThatCouldInjectLinesAreRefused) {
  for (std::string_view name :
       {std::string_view("evil\r\n-rw-r--r-- 1 x x 0 Jan 01 00:00 fake"), std::string_view("a\nb"),
        std::string_view("a\rb"), std::string_view("a\0b", 3), std::string_view("")}) {
    std::string out = "keep";
    EXPECT_FALSE(AppendListLine(File(name, kRecent), {.now = kNow}, &out));
    EXPECT_FALSE(AppendNlstLine(name, &out));
    EXPECT_FALSE(AppendMlsdLine(File(name, kRecent), MlsxKind::kEntry, MlstFacts::Default(),
                                Permissions::All(), &out));
    EXPECT_FALSE(
        AppendMlstLine(File(name, kRecent), MlstFacts::Default(), Permissions::All(), &out));
    EXPECT_EQ(out, "keep");
    EXPECT_FALSE(IsListableName(name));
  }
  EXPECT_TRUE(IsListableName(" leading space and \t tab"));
}

TEST(NlstTest, NamesOnly) {
  std::string out;
  EXPECT_TRUE(AppendNlstLine("a.txt", &out));
  EXPECT_TRUE(AppendNlstLine("sub/b c.txt", &out));
  EXPECT_EQ(out, "a.txt\r\nsub/b c.txt\r\n");
}

TEST(MlsdTest, FileWithDefaultFacts) {
  std::string out;
  EXPECT_TRUE(AppendMlsdLine(File("report.txt", kRecent), MlsxKind::kEntry, MlstFacts::Default(),
                             Permissions::All(), &out));
  EXPECT_EQ(out,
            "type=file;size=1024;modify=20240305140700;perm=adfrw;unique=803X1a2b; "
            "report.txt\r\n");
}

TEST(MlsdTest, DirectoriesHaveNoSize) {
  std::string out;
  AppendMlsdLine(Dir("pub", kOld), MlsxKind::kEntry, MlstFacts::Default(), Permissions::All(),
                 &out);
  AppendMlsdLine(Dir(".", kOld), MlsxKind::kCurrentDir, MlstFacts::Default(),
                 Permissions::ReadOnly(), &out);
  AppendMlsdLine(Dir("..", kOld), MlsxKind::kParentDir, MlstFacts::Default(),
                 Permissions::ReadOnly(), &out);
  EXPECT_EQ(out,
            "type=dir;modify=20230901000000;perm=cdeflmp;unique=803X1a2b; pub\r\n"
            "type=cdir;modify=20230901000000;perm=el;unique=803X1a2b; .\r\n"
            "type=pdir;modify=20230901000000;perm=el;unique=803X1a2b; ..\r\n");
}

TEST(MlsdTest, PermLettersFollowAccountPermissions) {
  auto perm = [](const ListEntry& e, Permissions p) {
    std::string out;
    MlstFacts facts;
    facts.Add(MlstFact::kPerm);
    AppendMlsxFacts(e, MlsxKind::kEntry, facts, p, &out);
    return out;
  };
  const ListEntry file = File("f", kRecent);
  const ListEntry dir = Dir("d", kRecent);
  const Permissions write_only = Permissions().With(Permission::kWrite);
  EXPECT_EQ(perm(file, Permissions::ReadOnly()), "perm=r;");
  EXPECT_EQ(perm(file, write_only), "perm=a;");  // no w: replacing also needs delete
  EXPECT_EQ(perm(file, write_only.With(Permission::kDelete)), "perm=adw;");
  EXPECT_EQ(perm(file, Permissions()), "perm=;");
  EXPECT_EQ(perm(dir, Permissions::ReadOnly()), "perm=el;");
  // An anonymous upload directory: write and mkdir, nothing else.
  EXPECT_EQ(perm(dir, write_only.With(Permission::kMkdir)), "perm=cem;");
  EXPECT_EQ(perm(dir, Permissions().With(Permission::kRename)), "perm=ef;");
  EXPECT_EQ(perm(dir, Permissions()), "perm=;");
}

TEST(MlsdTest, SelectedFactsAndFractionalTimes) {
  ListEntry e = File("x", kRecent, 5);
  e.mtime.tv_nsec = 123456789;
  MlstFacts facts;
  facts.Add(MlstFact::kSize);
  facts.Add(MlstFact::kModify);
  facts.Add(MlstFact::kUnixMode);
  std::string out;
  AppendMlsdLine(e, MlsxKind::kEntry, facts, Permissions::All(), &out);
  EXPECT_EQ(out, "size=5;modify=20240305140700.123;UNIX.mode=0644; x\r\n");

  out.clear();
  AppendMlsdLine(e, MlsxKind::kEntry, MlstFacts(), Permissions::All(), &out);
  EXPECT_EQ(out, " x\r\n");  // no facts: just the separating space

  out.clear();
  AppendMlsxFacts(File("s", kRecent, 0, S_IFREG | 04755), MlsxKind::kEntry, MlstFacts::All(),
                  Permissions::ReadOnly(), &out);
  EXPECT_EQ(out, "type=file;size=0;modify=20240305140700;perm=r;unique=803X1a2b;UNIX.mode=4755;");
}

TEST(MlsdTest, OtherFileTypes) {
  MlstFacts type_only;
  type_only.Add(MlstFact::kType);
  struct Case {
    mode_t mode;
    const char* fact;
  };
  for (const Case& c :
       {Case{S_IFLNK | 0777, "type=OS.unix=slink;"}, Case{S_IFIFO | 0644, "type=OS.unix=fifo;"},
        Case{S_IFSOCK | 0644, "type=OS.unix=socket;"}, Case{S_IFCHR | 0644, "type=OS.unix=chr;"},
        Case{S_IFBLK | 0644, "type=OS.unix=blk;"}}) {
    std::string out;
    AppendMlsxFacts(File("x", kRecent, 0, c.mode), MlsxKind::kEntry, type_only, Permissions::All(),
                    &out);
    EXPECT_EQ(out, c.fact);
  }
}

TEST(MlstTest, LeadingSpaceAndPath) {
  std::string out;
  EXPECT_TRUE(AppendMlstLine(File("/pub/report.txt", kRecent), MlstFacts::Default(),
                             Permissions::ReadOnly(), &out));
  EXPECT_EQ(out,
            " type=file;size=1024;modify=20240305140700;perm=r;unique=803X1a2b; "
            "/pub/report.txt\r\n");
}

TEST(TimeValTest, MdtmFormat) {
  std::string out;
  AppendTimeVal({1577934245, 999999999}, /*with_fraction=*/false, &out);
  EXPECT_EQ(out, "20200102030405");
  out.clear();
  AppendTimeVal({1577934245, 999999999}, /*with_fraction=*/true, &out);
  EXPECT_EQ(out, "20200102030405.999");
  out.clear();
  AppendTimeVal({1577934245, 500000}, /*with_fraction=*/true, &out);  // < 1 ms
  EXPECT_EQ(out, "20200102030405");
  out.clear();
  AppendTimeVal({0, 0}, false, &out);
  EXPECT_EQ(out, "19700101000000");
  // MFMT's parser and MDTM's formatter agree.
  absl::StatusOr<FileTime> parsed = ParseTimeVal("20200102030405");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->seconds, 1577934245);
}

TEST(TimeValTest, AgreesWithGmtime) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> times = {0,
                                -1,
                                951782400 /* 2000-02-29 */,
                                -2203891200 /* 1900-03-01 */,
                                4107456000 /* 2100-02-28 */,
                                253402300799 /* 9999-12-31 23:59:59 */};
  for (int i = 0; i < 10000; ++i) {
    times.push_back(static_cast<int64_t>(rng() % 253402300800ull) - 62135596800 / 2);
  }
  for (int64_t t : times) {
    std::string ours;
    AppendTimeVal({static_cast<time_t>(t), 0}, false, &ours);
    const time_t tt = static_cast<time_t>(t);
    struct tm tm;
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char want[32];
    std::snprintf(want, sizeof(want), "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(ours, want) << t;
  }
}

TEST(ListEntryTest, FromStat) {
  struct stat st = {};
  st.st_mode = S_IFREG | 0600;
  st.st_nlink = 3;
  st.st_size = 42;
  st.st_mtim = {kRecent, 7};
  st.st_dev = 1;
  st.st_ino = 2;
  const ListEntry e = ListEntry::FromStat("n", st);
  EXPECT_EQ(e.name, "n");
  EXPECT_EQ(e.mode, static_cast<mode_t>(S_IFREG | 0600));
  EXPECT_EQ(e.links, 3u);
  EXPECT_EQ(e.size, 42u);
  EXPECT_EQ(e.mtime.tv_sec, kRecent);
  EXPECT_EQ(e.mtime.tv_nsec, 7);
  EXPECT_EQ(e.device, 1u);
  EXPECT_EQ(e.inode, 2u);
}

}  // namespace
}  // namespace tpslab::ftpd
