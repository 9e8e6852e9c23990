#include "ftpd/home_jails.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

namespace tpslab::ftpd {

absl::StatusOr<std::shared_ptr<const PathJail>> HomeJails::Open(const std::string& home) {
  std::lock_guard lock(mutex_);
  Identity shared;
  if (std::shared_ptr<const PathJail> jail = homes_.Find(home, &shared)) {
    // The root is the directory the server opened at start, whatever
    // happens to its path since: nothing to check.
    if (home == "/") return jail;
    // Still the same directory?
    absl::StatusOr<struct stat> st = root_.Stat(home);
    if (st.ok() && st->st_dev == shared.device && st->st_ino == shared.inode) return jail;
  }
  absl::StatusOr<PathJail> opened = root_.OpenSubJail(home);
  if (!opened.ok()) return opened.status();
  struct stat st;
  if (::fstat(opened->root_fd(), &st) != 0) {
    return absl::ErrnoToStatus(errno, "stat home directory " + home);
  }
  auto jail = std::make_shared<const PathJail>(*std::move(opened));
  homes_.Insert(home, jail, Identity{st.st_dev, st.st_ino});
  return jail;
}

std::size_t HomeJails::open_homes() const {
  std::lock_guard lock(mutex_);
  return homes_.live();
}

}  // namespace tpslab::ftpd
