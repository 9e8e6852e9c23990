// Directory listing formats: LIST (the `ls -l` lines clients parse), NLST
// (names only), MLSD/MLST facts (RFC 3659) and the MDTM time.
//
// The session reads a directory (DirectoryReader in path_jail.h), stats each
// entry, and appends one line per entry to its data buffer:
//
//   ListFormat format{.now = time(nullptr)};
//   for (each entry) {
//     ListEntry e = ListEntry::FromStat(entry.name, st);
//     if (!AppendListLine(e, format, &buffer)) log("skipped unlistable name");
//   }
//
// File names are passed through as bytes: UTF-8 names reach UTF-8 clients
// unchanged (RFC 2640) and other bytes stay as they are. A name containing
// CR, LF or NUL is refused (the Append function appends nothing and returns
// false), so no file name can forge a listing line or a reply; PathJail's
// Resolve refuses such names too, so they are neither listed nor reachable.
// Times are UTC: no time zone files are read and every session sees the same.
// Nothing here allocates beyond growing `out`.
#ifndef TPSLAB_FTPD_LISTING_H_
#define TPSLAB_FTPD_LISTING_H_

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ftpd/command.h"
#include "ftpd/permissions.h"

namespace tpslab::ftpd {

// What a listing shows about one file.
struct ListEntry {
  std::string_view name;  // the last component (LIST/NLST/MLSD) or path (MLST)
  mode_t mode = 0;        // st_mode: type and permission bits
  nlink_t links = 1;
  uint64_t size = 0;
  struct timespec mtime = {0, 0};
  dev_t device = 0;
  ino_t inode = 0;

  // The entry for `name` with the attributes in `st`.
  static ListEntry FromStat(std::string_view name, const struct stat& st);
};

// True if `name` may appear in a listing: not empty, no CR, LF or NUL.
bool IsListableName(std::string_view name);

// How LIST lines are written.
struct ListFormat {
  // The current time, seconds since the epoch. Files modified in the six
  // months up to `now` show "Mon DD HH:MM", others (older, or in the future)
  // "Mon DD  YYYY", as ls does. Default 0: every file shows its year.
  int64_t now = 0;
  // The owner and group columns. Default "ftp": numeric ids would leak
  // nothing useful to clients, and names need NSS lookups (blocking).
  std::string_view owner = "ftp";
  std::string_view group = "ftp";
};

// Appends "drwxr-xr-x    2 ftp      ftp          4096 Mar 05 14:07 name\r\n".
// Symlinks show as 'l' with their name only: their targets are host paths the
// client has no business seeing. Returns false (and appends nothing) for an
// unlistable name.
bool AppendListLine(const ListEntry& entry, const ListFormat& format, std::string* out);

// Appends "name\r\n" (NLST). Returns false for an unlistable name.
bool AppendNlstLine(std::string_view name, std::string* out);

// Which row of an MLSD listing an entry is (RFC 3659 7.5.1).
enum class MlsxKind : uint8_t {
  kEntry,       // a member of the listed directory: type=file / dir / OS.unix=...
  kCurrentDir,  // the listed directory itself: type=cdir
  kParentDir,   // its parent: type=pdir
};

// Appends the facts of `entry` that `facts` selects, each "name=value;" in
// the order of kAllMlstFacts, e.g.
// "type=file;size=1024;modify=20240305140700;perm=adfrw;unique=803X1a2b;".
//   type    file, dir, cdir, pdir, or OS.unix=slink / fifo / socket / chr /
//           blk for other file types
//   size    st_size, for non-directories only
//   modify  UTC, with ".sss" milliseconds when the time has a fraction
//   perm    what `permissions` (the account's permissions at this entry,
//           Account::PermissionsAt) allow, in RFC 3659 7.5.5 letters:
//           files: a (write), d (delete), f (rename), r (read),
//                  w (write and delete: replacing needs both);
//           directories: c (write), d (delete), e (any permission),
//                  f (rename), l (read), m (mkdir), p (delete)
//   unique  "<device hex>X<inode hex>"
//   UNIX.mode  the permission bits, four octal digits: 0644, 4755
void AppendMlsxFacts(const ListEntry& entry, MlsxKind kind, MlstFacts facts,
                     Permissions permissions, std::string* out);

// Appends an MLSD data line "facts name\r\n". False for an unlistable name.
bool AppendMlsdLine(const ListEntry& entry, MlsxKind kind, MlstFacts facts, Permissions permissions,
                    std::string* out);

// Appends the MLST reply body line " facts pathname\r\n" (the leading space
// is RFC 3659 7.2's). The session wraps it in "250-..." / "250 End".
// False for an unlistable name.
bool AppendMlstLine(const ListEntry& entry, MlstFacts facts, Permissions permissions,
                    std::string* out);

// Appends an RFC 3659 time-val "YYYYMMDDHHMMSS" in UTC, followed by ".sss"
// when `with_fraction` and the time has a nonzero millisecond part. MDTM
// replies use it without the fraction: "213 20240305140700".
void AppendTimeVal(const struct timespec& time, bool with_fraction, std::string* out);

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_LISTING_H_
