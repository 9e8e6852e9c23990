#include "common/parse/url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::parse {
namespace {

using ::testing::HasSubstr;

std::string UrlError(std::string_view text) {
  absl::StatusOr<Url> url = ParseUrl(text);
  EXPECT_FALSE(url.ok()) << "parsed " << text;
  if (url.ok()) return "";
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(url.status().message());
}

std::string EndpointError(std::string_view text) {
  absl::StatusOr<Endpoint> endpoint = ParseEndpoint(text);
  EXPECT_FALSE(endpoint.ok()) << "parsed " << text;
  if (endpoint.ok()) return "";
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(endpoint.status().message());
}

TEST(ParseUrlTest, AllComponents) {
  absl::StatusOr<Url> url = ParseUrl("ftp://user:pass@host:2121/dir/file.txt?type=i#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, Scheme::kFtp);
  EXPECT_EQ(url->user, "user");
  EXPECT_EQ(url->password, "pass");
  EXPECT_EQ(url->host, "host");
  EXPECT_EQ(url->port, 2121);
  EXPECT_EQ(url->path, "/dir/file.txt");
  EXPECT_EQ(url->query, "type=i");
  EXPECT_EQ(url->fragment, "frag");
  EXPECT_EQ(url->HostPort(), "host:2121");
  EXPECT_FALSE(url->UsesTls());
}

TEST(ParseUrlTest, DefaultPortsAndTls) {
  struct Case {
    std::string_view text;
    Scheme scheme;
    uint16_t port;
    bool tls;
  };
  for (const Case& c :
       {Case{"ftp://h", Scheme::kFtp, 21, false}, Case{"ftps://h", Scheme::kFtps, 21, true},
        Case{"http://h", Scheme::kHttp, 80, false}, Case{"https://h", Scheme::kHttps, 443, true},
        Case{"HTTPS://h", Scheme::kHttps, 443, true}}) {
    absl::StatusOr<Url> url = ParseUrl(c.text);
    ASSERT_TRUE(url.ok()) << c.text << ": " << url.status();
    EXPECT_EQ(url->scheme, c.scheme) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->UsesTls(), c.tls) << c.text;
    EXPECT_EQ(url->path, "/") << c.text;
    EXPECT_EQ(url->user, "") << c.text;
  }
  EXPECT_EQ(SchemeName(Scheme::kFtps), "ftps");
  EXPECT_EQ(DefaultPort(Scheme::kHttps), 443);
}

TEST(ParseUrlTest, PercentDecodesUserPasswordAndPath) {
  absl::StatusOr<Url> url = ParseUrl("ftp://al%40ice:p%3Ass%2fw%25rd@h/pub/a%20b%2Fc.txt");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->user, "al@ice");
  EXPECT_EQ(url->password, "p:ss/w%rd");
  EXPECT_EQ(url->path, "/pub/a b/c.txt");
}

TEST(ParseUrlTest, QueryStaysEncoded) {
  absl::StatusOr<Url> url = ParseUrl("http://h/x?q=a%20b&r=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->query, "q=a%20b&r=1");
  EXPECT_EQ(url->path, "/x");
}

TEST(ParseUrlTest, UnencodedAtInPasswordUsesLastAt) {
  absl::StatusOr<Url> url = ParseUrl("ftp://u:p@ss@host/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->password, "p@ss");
  EXPECT_EQ(url->host, "host");
}

TEST(ParseUrlTest, EmptyPasswordAndUserOnly) {
  absl::StatusOr<Url> url = ParseUrl("ftp://anonymous@host/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->user, "anonymous");
  EXPECT_EQ(url->password, "");
  url = ParseUrl("ftp://anonymous:@host/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->user, "anonymous");
  EXPECT_EQ(url->password, "");
}

TEST(ParseUrlTest, Ipv6Literals) {
  absl::StatusOr<Url> url = ParseUrl("ftp://[::1]:2121/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 2121);
  EXPECT_TRUE(url->HostIsIpv6());
  EXPECT_EQ(url->HostPort(), "[::1]:2121");

  url = ParseUrl("ftp://u:p@[2001:DB8::1]/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "2001:db8::1");
  EXPECT_EQ(url->port, 21);
  EXPECT_EQ(url->user, "u");
}

TEST(ParseUrlTest, HostIsLowerCased) {
  absl::StatusOr<Url> url = ParseUrl("ftp://Example.COM/Dir");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->path, "/Dir");
}

TEST(ParseUrlTest, ToStringRoundTrips) {
  for (std::string_view text :
       {"ftp://host/", "ftps://u:p@h:990/a/b?x=1#f", "ftp://al%40ice:p%3Ass@h/a%20b",
        "http://[::1]:8080/x", "https://h/%25", "ftp://u@h/caf%C3%A9"}) {
    absl::StatusOr<Url> url = ParseUrl(text);
    ASSERT_TRUE(url.ok()) << text << ": " << url.status();
    absl::StatusOr<Url> again = ParseUrl(url->ToString());
    ASSERT_TRUE(again.ok()) << url->ToString() << ": " << again.status();
    EXPECT_EQ(*again, *url) << text << " -> " << url->ToString();
  }
  EXPECT_EQ(ParseUrl("FTP://u:p%40@Host:21/a%20b")->ToString(), "ftp://u:p%40@host/a%20b");
  EXPECT_EQ(ParseUrl("ftp://[::1]:2121/")->ToString(), "ftp://[::1]:2121/");
}

TEST(ParseUrlTest, RedactedHidesPassword) {
  absl::StatusOr<Url> url = ParseUrl("ftp://u:secret@h/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->Redacted(), "ftp://u:***@h/x");
}

TEST(ParseUrlTest, MissingScheme) {
  EXPECT_EQ(UrlError("host/path"),
            "invalid URL 'host/path': missing scheme (expected e.g. 'ftp://HOST/PATH')");
  EXPECT_THAT(UrlError("://host/"), HasSubstr("missing scheme"));
  EXPECT_EQ(UrlError("ftp:/host"),
            "invalid URL 'ftp:/host': expected '//' after 'ftp:' at position 4");
  EXPECT_EQ(UrlError(""), "invalid URL '': empty string");
}

TEST(ParseUrlTest, UnknownScheme) {
  EXPECT_EQ(UrlError("gopher://h/"),
            "invalid URL 'gopher://h/': unknown scheme 'gopher' (supported: ftp, ftps, http, "
            "https)");
}

TEST(ParseUrlTest, EmptyHost) {
  EXPECT_EQ(UrlError("ftp:///path"), "invalid URL 'ftp:///path': empty host at position 7");
  EXPECT_EQ(UrlError("ftp://user@:21/"),
            "invalid URL 'ftp://user@:21/': empty host at position 12");
  EXPECT_THAT(UrlError("ftp://"), HasSubstr("empty host"));
}

TEST(ParseUrlTest, BadHost) {
  EXPECT_EQ(UrlError("ftp://ho$t/"),
            "invalid URL 'ftp://ho$t/': invalid character '$' in host at position 9");
  EXPECT_EQ(UrlError("ftp://[::g]/"),
            "invalid URL 'ftp://[::g]/': invalid IPv6 address '::g' at position 8");
  EXPECT_THAT(UrlError("ftp://[::1/"), HasSubstr("missing ']'"));
  EXPECT_EQ(UrlError("ftp://[::1]x/"),
            "invalid URL 'ftp://[::1]x/': unexpected 'x' after ']' at position 12 (expected "
            "':PORT')");
  EXPECT_EQ(UrlError("ftp://300.1.2.3/"),
            "invalid URL 'ftp://300.1.2.3/': invalid IPv4 address '300.1.2.3' at position 7");
  EXPECT_THAT(UrlError("ftp://" + std::string(254, 'a') + "/"),
              HasSubstr("is 254 characters long (at most 253)"));
}

TEST(ParseUrlTest, BadPort) {
  EXPECT_EQ(UrlError("ftp://host:99999/"),
            "invalid URL 'ftp://host:99999/': port '99999' at position 12 is out of range 1-65535");
  EXPECT_EQ(UrlError("ftp://host:0/"),
            "invalid URL 'ftp://host:0/': port '0' at position 12 is out of range 1-65535");
  EXPECT_EQ(UrlError("ftp://host:2x/"),
            "invalid URL 'ftp://host:2x/': invalid port '2x' at position 12 (expected a number "
            "1-65535)");
  EXPECT_EQ(UrlError("ftp://host:/"),
            "invalid URL 'ftp://host:/': empty port after ':' at position 11");
  EXPECT_THAT(UrlError("ftp://host:123456789012345678901234567890/"),
              HasSubstr("is out of range 1-65535"));
  EXPECT_THAT(UrlError("ftp://[::1]:70000/"), HasSubstr("port '70000' at position 13"));
}

TEST(ParseUrlTest, BadPercentEscapes) {
  EXPECT_EQ(UrlError("ftp://h/a%zzb"),
            "invalid URL 'ftp://h/a%zzb': bad percent escape '%zz' in path at position 10 "
            "(expected '%' and two hex digits)");
  EXPECT_EQ(UrlError("ftp://h/a%4"),
            "invalid URL 'ftp://h/a%4': truncated percent escape '%4' in path at position 10 "
            "(expected '%' and two hex digits)");
  EXPECT_THAT(UrlError("ftp://us%g0er@h/"), HasSubstr("bad percent escape '%g0' in user name"));
  EXPECT_THAT(UrlError("ftp://u:p%@h/"), HasSubstr("truncated percent escape '%' in password"));
  EXPECT_THAT(UrlError("http://h/?a=%x1"), HasSubstr("bad percent escape '%x1' in query"));
}

TEST(ParseUrlTest, EscapedControlCharactersRejectedWhereTheyWouldInjectCommands) {
  EXPECT_EQ(UrlError("ftp://h/a%0D%0ADELE%20x"),
            "invalid URL 'ftp://h/a%0D%0ADELE%20x': percent escape '%0D' in path at position 10 "
            "decodes to a control character");
  EXPECT_THAT(UrlError("ftp://u:pw%00@h/"),
              HasSubstr("percent escape '%00' in password at position 11 decodes to a control"));
  // In the query the escape stays encoded, so it is harmless.
  EXPECT_TRUE(ParseUrl("http://h/?a=%0D").ok());
}

TEST(ParseUrlTest, RawControlCharactersAndSpaces) {
  EXPECT_EQ(UrlError("ftp://h/a\nb"),
            "invalid URL 'ftp://h/a\\nb': control character 0x0a at position 10");
  EXPECT_EQ(UrlError(std::string_view("ftp://h/\0", 9)),
            "invalid URL 'ftp://h/\\x00': control character 0x00 at position 9");
  EXPECT_EQ(UrlError("ftp://h/a b"),
            "invalid URL 'ftp://h/a b': space at position 10 (percent-encode it as %20)");
}

TEST(ParseUrlTest, EmptyUserName) {
  EXPECT_EQ(UrlError("ftp://:pw@h/"),
            "invalid URL 'ftp://:pw@h/': empty user name before '@' at position 10");
  EXPECT_THAT(UrlError("ftp://@h/"), HasSubstr("empty user name before '@'"));
}

TEST(ParseEndpointTest, Accepts) {
  struct Case {
    std::string_view text;
    std::string_view host;
    uint16_t port;
  };
  for (const Case& c : {Case{"127.0.0.1:21", "127.0.0.1", 21}, Case{"[::1]:2121", "::1", 2121},
                        Case{"localhost:80", "localhost", 80}, Case{":8080", "", 8080},
                        Case{"[::]:0", "::", 0}, Case{"Example.org:65535", "example.org", 65535}}) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(c.text);
    ASSERT_TRUE(endpoint.ok()) << c.text << ": " << endpoint.status();
    EXPECT_EQ(endpoint->host, c.host) << c.text;
    EXPECT_EQ(endpoint->port, c.port) << c.text;
  }
  EXPECT_TRUE(ParseEndpoint(":8080")->IsAnyAddress());
  EXPECT_TRUE(ParseEndpoint("[::1]:1")->HostIsIpv6());
}

TEST(ParseEndpointTest, Rejects) {
  EXPECT_EQ(EndpointError("127.0.0.1"),
            "invalid endpoint '127.0.0.1': missing port (expected HOST:PORT, e.g. '127.0.0.1:21' "
            "or ':8080')");
  EXPECT_EQ(EndpointError("localhost:"),
            "invalid endpoint 'localhost:': missing port after ':' at position 10 (expected a "
            "number 0-65535)");
  EXPECT_EQ(EndpointError("localhost:http"),
            "invalid endpoint 'localhost:http': invalid port 'http' at position 11 (expected a "
            "number 0-65535)");
  EXPECT_EQ(EndpointError("h:65536"),
            "invalid endpoint 'h:65536': port '65536' at position 3 is out of range 0-65535");
  EXPECT_EQ(EndpointError("::1:2121"),
            "invalid endpoint '::1:2121': IPv6 addresses must be in brackets (expected e.g. "
            "'[::1]:2121')");
  EXPECT_EQ(EndpointError("[::1]"),
            "invalid endpoint '[::1]': missing port after ']' at position 5 (expected "
            "[IPV6]:PORT, e.g. '[::1]:2121')");
  EXPECT_THAT(EndpointError("[::1]2121"), HasSubstr("unexpected '2' after ']' at position 6"));
  EXPECT_THAT(EndpointError("[nope]:1"), HasSubstr("invalid IPv6 address 'nope' at position 2"));
  EXPECT_THAT(EndpointError("[::1:1"), HasSubstr("missing ']'"));
  EXPECT_THAT(EndpointError("bad host:1"), HasSubstr("space at position 4"));
  EXPECT_THAT(EndpointError("a/b:1"), HasSubstr("invalid character '/' in host at position 2"));
  EXPECT_THAT(EndpointError(""), HasSubstr("empty string"));
}

TEST(FormatEndpointTest, RoundTrips) {
  EXPECT_EQ(FormatEndpoint({"::1", 2121}), "[::1]:2121");
  EXPECT_EQ(FormatEndpoint({"127.0.0.1", 21}), "127.0.0.1:21");
  EXPECT_EQ(FormatEndpoint({"", 8080}), ":8080");
  for (std::string_view text : {"[::1]:2121", "127.0.0.1:21", ":8080", "localhost:0"}) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(text);
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    EXPECT_EQ(FormatEndpoint(*endpoint), text);
  }
}

}  // namespace
}  // namespace tpslab::parse
