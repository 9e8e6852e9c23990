#include "ftpd/listing.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace tpslab::ftpd {
namespace {

// Half a Gregorian year, as ls uses to tell recent files from old ones.
constexpr int64_t kSixMonthsSeconds = 31556952 / 2;

constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// The ten-character ls mode string, e.g. "drwxr-sr-t".
void FormatMode(mode_t mode, char text[10]) {
  if (S_ISDIR(mode)) {
    text[0] = 'd';
  } else if (S_ISLNK(mode)) {
    text[0] = 'l';
  } else if (S_ISFIFO(mode)) {
    text[0] = 'p';
  } else if (S_ISSOCK(mode)) {
    text[0] = 's';
  } else if (S_ISCHR(mode)) {
    text[0] = 'c';
  } else if (S_ISBLK(mode)) {
    text[0] = 'b';
  } else {
    text[0] = '-';
  }
  // Execute column: x, or the special bit's letter (lower case when x is set too).
  auto exec = [](bool x, bool special, char letter) {
    if (special) return x ? letter : static_cast<char>(letter - 'a' + 'A');
    return x ? 'x' : '-';
  };
  text[1] = (mode & S_IRUSR) ? 'r' : '-';
  text[2] = (mode & S_IWUSR) ? 'w' : '-';
  text[3] = exec(mode & S_IXUSR, mode & S_ISUID, 's');
  text[4] = (mode & S_IRGRP) ? 'r' : '-';
  text[5] = (mode & S_IWGRP) ? 'w' : '-';
  text[6] = exec(mode & S_IXGRP, mode & S_ISGID, 's');
  text[7] = (mode & S_IROTH) ? 'r' : '-';
  text[8] = (mode & S_IWOTH) ? 'w' : '-';
  text[9] = exec(mode & S_IXOTH, mode & S_ISVTX, 't');
}

void AppendUnsigned(uint64_t value, int base, std::string* out) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value, base);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

// A UTC calendar time. Computed arithmetically (H. Hinnant's
// civil_from_days) rather than with gmtime_r, which takes glibc's global
// time zone lock on every call.
struct Civil {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
  int hour;
  int minute;
  int second;
};

Civil ToCivil(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  Civil c;
  c.year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  c.month = static_cast<int>(month);
  c.day = static_cast<int>(day);
  c.hour = static_cast<int>(rest / 3600);
  c.minute = static_cast<int>(rest / 60 % 60);
  c.second = static_cast<int>(rest % 60);
  return c;
}

std::string_view TypeFact(const ListEntry& entry, MlsxKind kind) {
  switch (kind) {
    case MlsxKind::kCurrentDir:
      return "cdir";
    case MlsxKind::kParentDir:
      return "pdir";
    case MlsxKind::kEntry:
      break;
  }
  const mode_t mode = entry.mode;
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "OS.unix=slink";
  if (S_ISFIFO(mode)) return "OS.unix=fifo";
  if (S_ISSOCK(mode)) return "OS.unix=socket";
  if (S_ISCHR(mode)) return "OS.unix=chr";
  if (S_ISBLK(mode)) return "OS.unix=blk";
  return "OS.unix=unknown";
}

void AppendPermFact(bool directory, Permissions p, std::string* out) {
  const bool read = p.Has(Permission::kRead);
  const bool write = p.Has(Permission::kWrite);
  const bool del = p.Has(Permission::kDelete);
  const bool rename = p.Has(Permission::kRename);
  if (directory) {
    if (write) out->push_back('c');
    if (del) out->push_back('d');
    if (!p.empty()) out->push_back('e');
    if (rename) out->push_back('f');
    if (read) out->push_back('l');
    if (p.Has(Permission::kMkdir)) out->push_back('m');
    if (del) out->push_back('p');
  } else {
    if (write) out->push_back('a');
    if (del) out->push_back('d');
    if (rename) out->push_back('f');
    if (read) out->push_back('r');
    if (write && del) out->push_back('w');
  }
}

}  // namespace

ListEntry ListEntry::FromStat(std::string_view name, const struct stat& st) {
  ListEntry entry;
  entry.name = name;
  entry.mode = st.st_mode;
  entry.links = st.st_nlink;
  entry.size = static_cast<uint64_t>(st.st_size);
  entry.mtime = st.st_mtim;
  entry.device = st.st_dev;
  entry.inode = st.st_ino;
  return entry;
}

bool IsListableName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool AppendListLine(const ListEntry& entry, const ListFormat& format, std::string* out) {
  if (!IsListableName(entry.name)) return false;
  char mode[10];
  FormatMode(entry.mode, mode);
  const int64_t mtime = entry.mtime.tv_sec;
  const Civil c = ToCivil(mtime);
  const bool recent = mtime <= format.now && format.now - mtime < kSixMonthsSeconds;
  char when[48];
  if (recent) {
    std::snprintf(when, sizeof(when), "%s %02d %02d:%02d", kMonths[c.month - 1], c.day, c.hour,
                  c.minute);
  } else {
    std::snprintf(when, sizeof(when), "%s %02d  %lld", kMonths[c.month - 1], c.day,
                  static_cast<long long>(c.year));
  }
  // Owner and group are capped at 32 bytes each, so this always fits.
  char line[160];
  const int length = std::snprintf(
      line, sizeof(line), "%.10s %4llu %-8.*s %-8.*s %12llu %s ", mode,
      static_cast<unsigned long long>(entry.links),
      static_cast<int>(std::min<size_t>(format.owner.size(), 32)), format.owner.data(),
      static_cast<int>(std::min<size_t>(format.group.size(), 32)), format.group.data(),
      static_cast<unsigned long long>(entry.size), when);
  out->append(line, static_cast<size_t>(length));
  out->append(entry.name);
  out->append("\r\n", 2);
  return true;
}

bool AppendNlstLine(std::string_view name, std::string* out) {
  if (!IsListableName(name)) return false;
  out->append(name);
  out->append("\r\n", 2);
  return true;
}

void AppendTimeVal(const struct timespec& time, bool with_fraction, std::string* out) {
  const Civil c = ToCivil(time.tv_sec);
  char text[64];
  int length =
      std::snprintf(text, sizeof(text), "%04lld%02d%02d%02d%02d%02d",
                    static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute, c.second);
  const long millis = time.tv_nsec / 1000000;
  if (with_fraction && millis > 0) {
    length +=
        std::snprintf(text + length, sizeof(text) - static_cast<size_t>(length), ".%03ld", millis);
  }
  out->append(text, static_cast<size_t>(length));
}

void AppendMlsxFacts(const ListEntry& entry, MlsxKind kind, MlstFacts facts,
                     Permissions permissions, std::string* out) {
  const bool directory = S_ISDIR(entry.mode) || kind != MlsxKind::kEntry;
  for (MlstFact fact : kAllMlstFacts) {
    if (!facts.Has(fact)) continue;
    switch (fact) {
      case MlstFact::kType:
        out->append("type=");
        out->append(TypeFact(entry, kind));
        break;
      case MlstFact::kSize:
        if (directory) continue;
        out->append("size=");
        AppendUnsigned(entry.size, 10, out);
        break;
      case MlstFact::kModify:
        out->append("modify=");
        AppendTimeVal(entry.mtime, /*with_fraction=*/true, out);
        break;
      case MlstFact::kPerm:
        out->append("perm=");
        AppendPermFact(directory, permissions, out);
        break;
      case MlstFact::kUnique:
        out->append("unique=");
        AppendUnsigned(static_cast<uint64_t>(entry.device), 16, out);
        out->push_back('X');
        AppendUnsigned(static_cast<uint64_t>(entry.inode), 16, out);
        break;
      case MlstFact::kUnixMode: {
        char octal[8];
        const int length =
            std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(entry.mode & 07777));
        out->append("UNIX.mode=");
        out->append(octal, static_cast<size_t>(length));
        break;
      }
    }
    out->push_back(';');
  }
}

bool AppendMlsdLine(const ListEntry& entry, MlsxKind kind, MlstFacts facts, Permissions permissions,
                    std::string* out) {
  if (!IsListableName(entry.name)) return false;
  AppendMlsxFacts(entry, kind, facts, permissions, out);
  out->push_back(' ');
  out->append(entry.name);
  out->append("\r\n", 2);
  return true;
}

bool AppendMlstLine(const ListEntry& entry, MlstFacts facts, Permissions permissions,
                    std::string* out) {
  if (!IsListableName(entry.name)) return false;
  out->push_back(' ');
  AppendMlsxFacts(entry, MlsxKind::kEntry, facts, permissions, out);
  out->push_back(' ');
  out->append(entry.name);
  out->append("\r\n", 2);
  return true;
}

}  // namespace tpslab::ftpd
