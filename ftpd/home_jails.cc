#include "ftpd/home_jails.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace tpslab::ftpd {

absl::StatusOr<std::shared_ptr<const PathJail>> HomeJails::Open(const std::string& home) {
  std::lock_guard lock(mutex_);
  auto it = homes_.find(home);
  if (it != homes_.end()) {
    if (std::shared_ptr<const PathJail> jail = it->second.jail.lock()) {
      // The root is the directory the server opened at start, whatever
      // happens to its path since: nothing to check.
      if (home == "/") return jail;
      // Still the same directory?
      absl::StatusOr<struct stat> st = root_.Stat(home);
      if (st.ok() && st->st_dev == it->second.device && st->st_ino == it->second.inode) {
        return jail;
      }
    }
  }
  absl::StatusOr<PathJail> opened = root_.OpenSubJail(home);
  if (!opened.ok()) return opened.status();
  struct stat st;
  if (::fstat(opened->root_fd(), &st) != 0) {
    return absl::ErrnoToStatus(errno, "stat home directory " + home);
  }
  auto jail = std::make_shared<const PathJail>(*std::move(opened));
  homes_[home] = Entry{jail, st.st_dev, st.st_ino};
  // Forget homes nobody uses any more, now and then (when the map has
  // doubled), so it stays about as small as the set of homes in use.
  if (homes_.size() >= sweep_at_) {
    std::erase_if(homes_, [](const auto& entry) { return entry.second.jail.expired(); });
    sweep_at_ = std::max<std::size_t>(kMinSweep, 2 * homes_.size());
  }
  return jail;
}

std::size_t HomeJails::open_homes() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(homes_.begin(), homes_.end(),
                    [](const auto& entry) { return !entry.second.jail.expired(); }));
}

}  // namespace tpslab::ftpd
