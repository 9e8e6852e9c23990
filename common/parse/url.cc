#include "common/parse/url.h"

#include <arpa/inet.h>

#include <array>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/parse/quote.h"

namespace tpslab::parse {
namespace {

constexpr size_t kMaxHostLength = 253;

struct SchemeInfo {
  absl::string_view name;
  Scheme scheme;
  uint16_t default_port;
};

constexpr std::array<SchemeInfo, 4> kSchemes = {{
    {"ftp", Scheme::kFtp, 21},
    {"ftps", Scheme::kFtps, 21},
    {"http", Scheme::kHttp, 80},
    {"https", Scheme::kHttps, 443},
}};

// Builds the InvalidArgument status every parser here returns:
// "invalid <what> '<text>': <detail>".
absl::Status Invalid(absl::string_view what, absl::string_view text, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what, " ", QuoteForError(text), ": ", detail));
}

// 1-based position for messages.
std::string At(size_t index) { return absl::StrCat("at position ", index + 1); }

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Rejects control characters and spaces anywhere in `text`.
absl::Status CheckCharacters(absl::string_view what, absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (IsControl(c)) {
      return Invalid(what, text, absl::StrFormat("control character 0x%02x %s", c, At(i)));
    }
    if (c == ' ') {
      return Invalid(what, text, absl::StrCat("space ", At(i), " (percent-encode it as %20)"));
    }
  }
  return absl::OkStatus();
}

// Percent-decodes text[begin, end) into `out`. With `allow_control` false, an
// escape that decodes to a control character is an error: a "%0D%0A" in an
// FTP path or password would otherwise inject protocol commands.
absl::Status PercentDecode(absl::string_view what, absl::string_view text, size_t begin, size_t end,
                           absl::string_view part, bool allow_control, std::string* out) {
  out->clear();
  for (size_t i = begin; i < end; ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (end - i < 3) {
      return Invalid(
          what, text,
          absl::StrCat("truncated percent escape ", QuoteForError(text.substr(i, end - i)), " in ",
                       part, " ", At(i), " (expected '%' and two hex digits)"));
    }
    const int hi = HexValue(text[i + 1]);
    const int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) {
      return Invalid(what, text,
                     absl::StrCat("bad percent escape ", QuoteForError(text.substr(i, 3)), " in ",
                                  part, " ", At(i), " (expected '%' and two hex digits)"));
    }
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (!allow_control && IsControl(decoded)) {
      return Invalid(what, text,
                     absl::StrCat("percent escape ", QuoteForError(text.substr(i, 3)), " in ", part,
                                  " ", At(i), " decodes to a control character"));
    }
    out->push_back(static_cast<char>(decoded));
    i += 2;
  }
  return absl::OkStatus();
}

// Appends `raw` to `out`, percent-encoding every byte that is neither
// unreserved nor in `also_keep`.
void PercentEncode(absl::string_view raw, absl::string_view also_keep, std::string* out) {
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || also_keep.find(ch) != absl::string_view::npos) {
      out->push_back(ch);
    } else {
      absl::StrAppendFormat(out, "%%%02X", c);
    }
  }
}

// Validates a host (IPv6 without its brackets) that starts at text[pos] and
// returns it lower-cased. `bracketed` says whether it was written as "[...]".
absl::StatusOr<std::string> CheckHost(absl::string_view what, absl::string_view text,
                                      absl::string_view host, size_t pos, bool bracketed) {
  if (bracketed) {
    std::string address(host);
    in6_addr parsed;
    if (inet_pton(AF_INET6, address.c_str(), &parsed) != 1) {
      return Invalid(what, text,
                     absl::StrCat("invalid IPv6 address ", QuoteForError(host), " ", At(pos)));
    }
    return absl::AsciiStrToLower(address);
  }
  if (host.size() > kMaxHostLength) {
    return Invalid(what, text,
                   absl::StrCat("host name ", At(pos), " is ", host.size(),
                                " characters long (at most ", kMaxHostLength, ")"));
  }
  bool digits_and_dots = true;
  for (size_t i = 0; i < host.size(); ++i) {
    const auto c = static_cast<unsigned char>(host[i]);
    if (!IsUnreserved(c)) {
      return Invalid(what, text,
                     absl::StrCat("invalid character ", QuoteForError(host.substr(i, 1)),
                                  " in host ", At(pos + i)));
    }
    if (!absl::ascii_isdigit(c) && c != '.') digits_and_dots = false;
  }
  if (digits_and_dots) {
    std::string address(host);
    in_addr parsed;
    if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) {
      return Invalid(what, text,
                     absl::StrCat("invalid IPv4 address ", QuoteForError(host), " ", At(pos)));
    }
  }
  return absl::AsciiStrToLower(host);
}

// Parses the decimal port text[pos, pos + digits.size()) and checks it lies
// in [min_port, 65535].
absl::StatusOr<uint16_t> CheckPort(absl::string_view what, absl::string_view text,
                                   absl::string_view digits, size_t pos, uint32_t min_port) {
  if (digits.empty()) {
    return Invalid(what, text, absl::StrCat("empty port after ':' ", At(pos - 1)));
  }
  uint32_t value = 0;
  for (const char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Invalid(what, text,
                     absl::StrCat("invalid port ", QuoteForError(digits), " ", At(pos),
                                  " (expected a number ", min_port, "-65535)"));
    }
    // Saturate instead of overflowing on absurdly long digit strings.
    if (value <= 65535) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value < min_port || value > 65535) {
    return Invalid(what, text,
                   absl::StrCat("port ", QuoteForError(digits), " ", At(pos), " is out of range ",
                                min_port, "-65535"));
  }
  return static_cast<uint16_t>(value);
}

std::optional<SchemeInfo> FindScheme(absl::string_view name) {
  for (const SchemeInfo& info : kSchemes) {
    if (absl::EqualsIgnoreCase(info.name, name)) return info;
  }
  return std::nullopt;
}

const SchemeInfo& Info(Scheme scheme) {
  for (const SchemeInfo& info : kSchemes) {
    if (info.scheme == scheme) return info;
  }
  return kSchemes[0];  // Unreachable: every enumerator is in kSchemes.
}

std::string FormatHostPort(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string FormatUrl(const Url& url, bool redact) {
  std::string out = absl::StrCat(Info(url.scheme).name, "://");
  if (!url.user.empty()) {
    PercentEncode(url.user, "", &out);
    if (!url.password.empty()) {
      out.push_back(':');
      if (redact) {
        out += "***";
      } else {
        PercentEncode(url.password, "", &out);
      }
    }
    out.push_back('@');
  }
  if (url.HostIsIpv6()) {
    absl::StrAppend(&out, "[", url.host, "]");
  } else {
    out += url.host;
  }
  if (url.port != DefaultPort(url.scheme)) absl::StrAppend(&out, ":", url.port);
  if (url.path.empty() || url.path[0] != '/') out.push_back('/');
  PercentEncode(url.path, "/:@", &out);
  if (!url.query.empty()) absl::StrAppend(&out, "?", url.query);
  if (!url.fragment.empty()) absl::StrAppend(&out, "#", url.fragment);
  return out;
}

}  // namespace

std::string_view SchemeName(Scheme scheme) {
  const absl::string_view name = Info(scheme).name;
  return std::string_view(name.data(), name.size());
}

uint16_t DefaultPort(Scheme scheme) { return Info(scheme).default_port; }

std::string Url::HostPort() const { return FormatHostPort(host, port); }

std::string Url::ToString() const { return FormatUrl(*this, /*redact=*/false); }

std::string Url::Redacted() const { return FormatUrl(*this, /*redact=*/true); }

absl::StatusOr<Url> ParseUrl(std::string_view input) {
  const absl::string_view text(input.data(), input.size());
  constexpr absl::string_view kWhat = "URL";
  if (text.empty()) return absl::InvalidArgumentError("invalid URL '': empty string");
  if (absl::Status s = CheckCharacters(kWhat, text); !s.ok()) return s;

  // scheme "://"
  size_t i = 0;
  while (i < text.size() && (absl::ascii_isalpha(static_cast<unsigned char>(text[i])) ||
                             (i > 0 && (absl::ascii_isdigit(static_cast<unsigned char>(text[i])) ||
                                        text[i] == '+' || text[i] == '-' || text[i] == '.')))) {
    ++i;
  }
  const absl::string_view scheme_name = text.substr(0, i);
  if (i == 0 || text.substr(i, 3) != "://") {
    if (i > 0 && i < text.size() && text[i] == ':' && FindScheme(scheme_name)) {
      return Invalid(kWhat, text, absl::StrCat("expected '//' after '", scheme_name, ":' ", At(i)));
    }
    return Invalid(kWhat, text, "missing scheme (expected e.g. 'ftp://HOST/PATH')");
  }
  const std::optional<SchemeInfo> scheme = FindScheme(scheme_name);
  if (!scheme) {
    return Invalid(kWhat, text,
                   absl::StrCat("unknown scheme ", QuoteForError(scheme_name),
                                " (supported: ftp, ftps, http, https)"));
  }
  Url url;
  url.scheme = scheme->scheme;
  url.port = scheme->default_port;

  // Authority: up to the first '/', '?' or '#'.
  const size_t authority_begin = i + 3;
  size_t authority_end = text.find_first_of("/?#", authority_begin);
  if (authority_end == absl::string_view::npos) authority_end = text.size();

  // userinfo "@"; the last '@' wins so that an unencoded '@' in a password
  // still parses the way the user meant.
  size_t host_begin = authority_begin;
  const size_t at = text.substr(authority_begin, authority_end - authority_begin).rfind('@');
  if (at != absl::string_view::npos) {
    const size_t userinfo_end = authority_begin + at;
    size_t colon = text.find(':', authority_begin);
    if (colon > userinfo_end) colon = userinfo_end;
    if (colon == authority_begin) {
      return Invalid(kWhat, text, absl::StrCat("empty user name before '@' ", At(userinfo_end)));
    }
    if (absl::Status s = PercentDecode(kWhat, text, authority_begin, colon, "user name",
                                       /*allow_control=*/false, &url.user);
        !s.ok()) {
      return s;
    }
    if (colon < userinfo_end) {
      if (absl::Status s = PercentDecode(kWhat, text, colon + 1, userinfo_end, "password",
                                         /*allow_control=*/false, &url.password);
          !s.ok()) {
        return s;
      }
    }
    host_begin = userinfo_end + 1;
  }

  // host [":" port]
  absl::string_view host;
  size_t port_colon = absl::string_view::npos;
  if (host_begin < authority_end && text[host_begin] == '[') {
    const size_t close = text.find(']', host_begin);
    if (close == absl::string_view::npos || close > authority_end) {
      return Invalid(kWhat, text,
                     absl::StrCat("missing ']' after IPv6 address starting ", At(host_begin)));
    }
    host = text.substr(host_begin + 1, close - host_begin - 1);
    if (close + 1 < authority_end) {
      if (text[close + 1] != ':') {
        return Invalid(kWhat, text,
                       absl::StrCat("unexpected ", QuoteForError(text.substr(close + 1, 1)),
                                    " after ']' ", At(close + 1), " (expected ':PORT')"));
      }
      port_colon = close + 1;
    }
    auto checked = CheckHost(kWhat, text, host, host_begin + 1, /*bracketed=*/true);
    if (!checked.ok()) return checked.status();
    url.host = *std::move(checked);
  } else {
    port_colon = text.substr(host_begin, authority_end - host_begin).find(':');
    if (port_colon != absl::string_view::npos) port_colon += host_begin;
    const size_t host_end = port_colon == absl::string_view::npos ? authority_end : port_colon;
    host = text.substr(host_begin, host_end - host_begin);
    if (host.empty()) {
      return Invalid(kWhat, text, absl::StrCat("empty host ", At(host_begin)));
    }
    auto checked = CheckHost(kWhat, text, host, host_begin, /*bracketed=*/false);
    if (!checked.ok()) return checked.status();
    url.host = *std::move(checked);
  }
  if (port_colon != absl::string_view::npos) {
    auto port = CheckPort(kWhat, text, text.substr(port_colon + 1, authority_end - port_colon - 1),
                          port_colon + 1, /*min_port=*/1);
    if (!port.ok()) return port.status();
    url.port = *port;
  }

  // path ["?" query] ["#" fragment]
  size_t path_end = text.find_first_of("?#", authority_end);
  if (path_end == absl::string_view::npos) path_end = text.size();
  if (path_end > authority_end) {
    if (absl::Status s = PercentDecode(kWhat, text, authority_end, path_end, "path",
                                       /*allow_control=*/false, &url.path);
        !s.ok()) {
      return s;
    }
  }
  size_t fragment_begin = text.find('#', path_end);
  if (fragment_begin == absl::string_view::npos) fragment_begin = text.size();
  if (path_end < text.size() && text[path_end] == '?') {
    // The query stays encoded; decode it only to validate its escapes.
    std::string decoded;
    if (absl::Status s = PercentDecode(kWhat, text, path_end + 1, fragment_begin, "query",
                                       /*allow_control=*/true, &decoded);
        !s.ok()) {
      return s;
    }
    url.query = std::string(text.substr(path_end + 1, fragment_begin - path_end - 1));
  }
  if (fragment_begin < text.size()) {
    std::string decoded;
    if (absl::Status s = PercentDecode(kWhat, text, fragment_begin + 1, text.size(), "fragment",
                                       /*allow_control=*/true, &decoded);
        !s.ok()) {
      return s;
    }
    url.fragment = std::string(text.substr(fragment_begin + 1));
  }
  return url;
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view input) {
  const absl::string_view text(input.data(), input.size());
  constexpr absl::string_view kWhat = "endpoint";
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "invalid endpoint '': empty string (expected HOST:PORT, e.g. '127.0.0.1:21' or ':8080')");
  }
  if (absl::Status s = CheckCharacters(kWhat, text); !s.ok()) return s;

  Endpoint endpoint;
  size_t port_colon;
  if (text[0] == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return Invalid(kWhat, text, "missing ']' after IPv6 address starting at position 1");
    }
    if (close + 1 == text.size()) {
      return Invalid(kWhat, text,
                     absl::StrCat("missing port after ']' ", At(close),
                                  " (expected [IPV6]:PORT, e.g. '[::1]:2121')"));
    }
    if (text[close + 1] != ':') {
      return Invalid(kWhat, text,
                     absl::StrCat("unexpected ", QuoteForError(text.substr(close + 1, 1)),
                                  " after ']' ", At(close + 1), " (expected ':PORT')"));
    }
    auto host = CheckHost(kWhat, text, text.substr(1, close - 1), 1, /*bracketed=*/true);
    if (!host.ok()) return host.status();
    endpoint.host = *std::move(host);
    port_colon = close + 1;
  } else {
    port_colon = text.rfind(':');
    if (port_colon == absl::string_view::npos) {
      return Invalid(kWhat, text,
                     "missing port (expected HOST:PORT, e.g. '127.0.0.1:21' or ':8080')");
    }
    const absl::string_view host = text.substr(0, port_colon);
    if (host.find(':') != absl::string_view::npos) {
      return Invalid(kWhat, text,
                     "IPv6 addresses must be in brackets (expected e.g. '[::1]:2121')");
    }
    if (!host.empty()) {
      auto checked = CheckHost(kWhat, text, host, 0, /*bracketed=*/false);
      if (!checked.ok()) return checked.status();
      endpoint.host = *std::move(checked);
    }
  }
  const absl::string_view digits = text.substr(port_colon + 1);
  if (digits.empty()) {
    return Invalid(
        kWhat, text,
        absl::StrCat("missing port after ':' ", At(port_colon), " (expected a number 0-65535)"));
  }
  auto port = CheckPort(kWhat, text, digits, port_colon + 1, /*min_port=*/0);
  if (!port.ok()) return port.status();
  endpoint.port = *port;
  return endpoint;
}

std::string FormatEndpoint(const Endpoint& endpoint) {
  return FormatHostPort(endpoint.host, endpoint.port);
}

}  // namespace tpslab::parse
