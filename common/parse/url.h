// URLs and HOST:PORT endpoints as they appear on command lines and in config
// files: "ftp://user:pass@host:2121/dir/file?x", "[::1]:2121", ":8080".
//
// Parsing is strict and every error names what was wrong and where
// (positions are 1-based byte offsets into the input):
//
//   absl::StatusOr<Url> url = ParseUrl("ftp://alice:s%40cret@[::1]:2121/pub/a%20b.txt");
//   // url->scheme == Scheme::kFtp, url->user == "alice", url->password == "s@cret",
//   // url->host == "::1", url->port == 2121, url->path == "/pub/a b.txt"
//   ParseUrl("ftp://host:99999/").status().message();
//   // -> "invalid URL 'ftp://host:99999/': port '99999' at position 12 is out of range 1-65535"
//
//   absl::StatusOr<Endpoint> ep = ParseEndpoint("[::1]:2121");  // host "::1", port 2121
//   FormatEndpoint(*ep);                                        // "[::1]:2121"
#ifndef TPSLAB_COMMON_PARSE_URL_H_
#define TPSLAB_COMMON_PARSE_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::parse {

// The URL schemes tpslab speaks. FTPS is explicit TLS (AUTH TLS on the
// ordinary control port), not the legacy implicit-TLS port 990.
enum class Scheme {
  kFtp,    // "ftp", default port 21
  kFtps,   // "ftps", explicit TLS, default port 21
  kHttp,   // "http", default port 80
  kHttps,  // "https", default port 443
};

// Returns the lower-case name of `scheme`, e.g. "ftps".
std::string_view SchemeName(Scheme scheme);

// Returns the port used when a URL of `scheme` names none.
uint16_t DefaultPort(Scheme scheme);

// A parsed URL. Components are stored decoded, so `path` is what an FTP
// client sends in RETR and `password` is what it sends in PASS.
struct Url {
  // Defaults to ftp.
  Scheme scheme = Scheme::kFtp;
  // Percent-decoded user name; empty when the URL has no "user@" part.
  std::string user;
  // Percent-decoded password; empty when the URL has no ":password" part.
  std::string password;
  // Host name or IP address; IPv6 addresses without brackets. Never empty
  // in a parsed URL.
  std::string host;
  // The explicit port, or DefaultPort(scheme) when the URL names none.
  uint16_t port = 21;
  // Percent-decoded path; "/" when the URL has no path.
  std::string path = "/";
  // Everything between '?' and '#', exactly as written (not decoded); empty
  // when there is no query.
  std::string query;
  // Everything after '#', exactly as written; empty when there is none.
  std::string fragment;

  // Returns true for the TLS schemes (ftps, https).
  bool UsesTls() const { return scheme == Scheme::kFtps || scheme == Scheme::kHttps; }
  // Returns true when `host` is an IPv6 address (contains ':').
  bool HostIsIpv6() const { return host.find(':') != std::string::npos; }
  // Returns "host:port" with IPv6 hosts in brackets, e.g. "[::1]:2121".
  std::string HostPort() const;
  // Returns the URL re-encoded; ParseUrl(ToString()) yields an equal Url.
  // The password is included, so do not log the result (see Redacted()).
  std::string ToString() const;
  // Returns ToString() with the password replaced by "***", for logs.
  std::string Redacted() const;

  friend bool operator==(const Url&, const Url&) = default;
};

// Parses "scheme://[user[:password]@]host[:port][/path][?query][#fragment]".
// Scheme and host are case-insensitive and stored lower-case. Fails with
// InvalidArgument when the scheme is missing or not one of ftp, ftps, http,
// https; the host is empty or malformed; the port is not a number in
// 1-65535; a percent escape is malformed or decodes to a control character;
// or the text contains control characters or spaces.
absl::StatusOr<Url> ParseUrl(std::string_view text);

// A network endpoint: where to listen or connect.
struct Endpoint {
  // Host name or IP address, IPv6 without brackets; empty means "any
  // address" (listen on all interfaces). Defaults to empty.
  std::string host;
  // TCP port; 0 asks the OS for an ephemeral port when listening. Defaults to 0.
  uint16_t port = 0;

  // Returns true when `host` is empty (any address).
  bool IsAnyAddress() const { return host.empty(); }
  // Returns true when `host` is an IPv6 address (contains ':').
  bool HostIsIpv6() const { return host.find(':') != std::string::npos; }

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Parses "HOST:PORT": "127.0.0.1:21", "[::1]:2121", "localhost:80", or
// ":8080" (any address). The port is required and must be 0-65535; IPv6
// addresses must be in brackets. Fails with InvalidArgument naming the part
// that was wrong.
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view text);

// Returns "host:port", with IPv6 hosts in brackets and an empty host as
// ":port", so that ParseEndpoint(FormatEndpoint(e)) == e.
std::string FormatEndpoint(const Endpoint& endpoint);

}  // namespace tpslab::parse

#endif  // TPSLAB_COMMON_PARSE_URL_H_
