#include "loadgen/tls_options.h"

#include <cctype>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/parse/url.h"

namespace tpslab::loadgen {
namespace {

constexpr char kCaKey[] = "tls-ca";
constexpr char kServerNameKey[] = "tls-server-name";

// Percent-encodes everything but unreserved characters and '/'.
std::string Encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(std::string_view value, std::string* out) {
  out->clear();
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      *out += value[i];
      continue;
    }
    if (i + 2 >= value.size()) return false;
    const int high = HexValue(value[i + 1]);
    const int low = HexValue(value[i + 2]);
    if (high < 0 || low < 0) return false;
    *out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

}  // namespace

std::string EncodeTlsFragment(const TlsOptions& options) {
  std::string out;
  if (!options.ca_file.empty()) absl::StrAppend(&out, kCaKey, "=", Encode(options.ca_file));
  if (!options.server_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : "&", kServerNameKey, "=", Encode(options.server_name));
  }
  return out;
}

absl::StatusOr<TlsOptions> TargetTlsOptions(const v1::Target& target) {
  absl::StatusOr<parse::Url> url = parse::ParseUrl(target.url());
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("target '", target.name(), "': ", url.status().message()));
  }
  TlsOptions options;
  options.verify = target.verify_tls();
  if (url->fragment.empty()) return options;
  const std::vector<std::string> items = absl::StrSplit(url->fragment, '&');
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    std::string value;
    if (eq == std::string_view::npos || !Decode(std::string_view(item).substr(eq + 1), &value) ||
        value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target '", target.name(), "': malformed TLS option '", item, "' in the URL fragment"));
    }
    if (key == kCaKey) {
      options.ca_file = std::move(value);
    } else if (key == kServerNameKey) {
      options.server_name = std::move(value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("target '", target.name(), "': unknown TLS option '", key,
                       "' in the URL fragment (known: tls-ca, tls-server-name)"));
    }
  }
  return options;
}

}  // namespace tpslab::loadgen
