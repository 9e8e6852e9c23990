// What an FTP account may do: the permission set of the users file
// ("read,write,delete,mkdir,rename") and how it is written.
//
//   absl::StatusOr<Permissions> p = Permissions::Parse("read, mkdir");
//   if (p.ok() && p->Has(Permission::kMkdir)) ...
//   p->ToString();  // "read,mkdir"
#ifndef TPSLAB_FTPD_PERMISSIONS_H_
#define TPSLAB_FTPD_PERMISSIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::ftpd {

// One thing a user may do (users.h lists the commands each covers).
enum class Permission : uint8_t {
  kRead = 1u << 0,
  kWrite = 1u << 1,
  kDelete = 1u << 2,
  kMkdir = 1u << 3,
  kRename = 1u << 4,
};

// A set of Permission values.
class Permissions {
 public:
  // The empty set.
  constexpr Permissions() = default;
  static constexpr Permissions All() { return Permissions(kAllBits); }
  static constexpr Permissions ReadOnly() { return Permissions().With(Permission::kRead); }

  constexpr bool Has(Permission p) const { return (bits_ & static_cast<uint8_t>(p)) != 0; }
  constexpr Permissions With(Permission p) const {
    return Permissions(static_cast<uint8_t>(bits_ | static_cast<uint8_t>(p)));
  }
  constexpr bool empty() const { return bits_ == 0; }
  friend constexpr bool operator==(Permissions, Permissions) = default;

  // Parses "read,write,..." / "all" / "none" / "" (spaces around names are
  // ignored). Unknown names: InvalidArgument naming the name.
  static absl::StatusOr<Permissions> Parse(std::string_view text);
  // The canonical form: "read,write,delete,mkdir,rename" order, "none" if empty.
  std::string ToString() const;

 private:
  static constexpr uint8_t kAllBits = (1u << 5) - 1;
  constexpr explicit Permissions(uint8_t bits) : bits_(bits) {}
  uint8_t bits_ = 0;
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_PERMISSIONS_H_
