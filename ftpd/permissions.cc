#include "ftpd/permissions.h"

#include <iterator>

#include "absl/strings/str_format.h"

namespace tpslab::ftpd {
namespace {

constexpr std::string_view kPermissionNames[] = {"read", "write", "delete", "mkdir", "rename"};
constexpr Permission kPermissionValues[] = {Permission::kRead, Permission::kWrite,
                                            Permission::kDelete, Permission::kMkdir,
                                            Permission::kRename};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::StatusOr<Permissions> Permissions::Parse(std::string_view text) {
  Permissions result;
  if (Trim(text).empty()) return result;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view name = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (name == "all") {
      result = All();
      continue;
    }
    if (name == "none") continue;
    bool known = false;
    for (size_t i = 0; i < std::size(kPermissionNames); ++i) {
      if (name == kPermissionNames[i]) {
        result = result.With(kPermissionValues[i]);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "unknown permission \"%s\" (known: read, write, delete, mkdir, rename, all, none)",
          name));
    }
  }
  return result;
}

std::string Permissions::ToString() const {
  std::string result;
  for (size_t i = 0; i < std::size(kPermissionNames); ++i) {
    if (!Has(kPermissionValues[i])) continue;
    if (!result.empty()) result.push_back(',');
    result.append(kPermissionNames[i]);
  }
  return result.empty() ? "none" : result;
}

}  // namespace tpslab::ftpd
