// HomeJails: the home-directory jails of logged-in sessions, shared by the
// sessions of one home: one open directory (one descriptor) per home in
// use rather than one per session, so that 10,000 idle sessions fit in a
// 20,000 open-files limit.
//
//   HomeJails homes(root_jail);
//   absl::StatusOr<std::shared_ptr<const PathJail>> jail = homes.Open("/alice");
//
// A shared jail is handed out only while it is still the directory at that
// path (same device and inode): a home renamed or replaced on disk is picked
// up by the next login, as with a fresh open. Thread-safe.
#ifndef TPSLAB_FTPD_HOME_JAILS_H_
#define TPSLAB_FTPD_HOME_JAILS_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "ftpd/path_jail.h"
#include "ftpd/weak_registry.h"

namespace tpslab::ftpd {

class HomeJails {
 public:
  // Homes are opened beneath `root`, which must outlive this object.
  explicit HomeJails(const PathJail& root) : root_(root) {}
  HomeJails(const HomeJails&) = delete;
  HomeJails& operator=(const HomeJails&) = delete;

  // The jail rooted at `home` (a virtual path under the root, as
  // PathJail::OpenSubJail takes): the one other sessions hold when it is
  // still the directory at `home`, else a newly opened one (and
  // OpenSubJail's errors).
  absl::StatusOr<std::shared_ptr<const PathJail>> Open(const std::string& home);

  // Homes with a jail in use.
  std::size_t open_homes() const;

 private:
  // Which directory a shared jail has open.
  struct Identity {
    dev_t device = 0;
    ino_t inode = 0;
  };

  const PathJail& root_;
  mutable std::mutex mutex_;
  WeakRegistry<std::string, const PathJail, Identity> homes_;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_HOME_JAILS_H_
