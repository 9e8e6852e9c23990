#include "loadgen/tls_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tpslab::loadgen {
namespace {

using ::testing::HasSubstr;

v1::Target MakeTarget(const std::string& url, bool verify) {
  v1::Target t;
  t.set_name("secure");
  t.set_url(url);
  t.set_verify_tls(verify);
  return t;
}

TEST(TlsOptionsTest, DefaultsWhenTheUrlHasNoFragment) {
  absl::StatusOr<TlsOptions> o = TargetTlsOptions(MakeTarget("ftps://u:p@127.0.0.1:2121/", true));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(*o, (TlsOptions{.verify = true, .ca_file = "", .server_name = ""}));
  o = TargetTlsOptions(MakeTarget("https://127.0.0.1/", false));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->verify);
}

TEST(TlsOptionsTest, FragmentRoundTripsAwkwardPaths) {
  const TlsOptions options{
      .verify = true, .ca_file = "/tmp/my ca&#=%.pem", .server_name = "ftp.example"};
  const std::string fragment = EncodeTlsFragment(options);
  EXPECT_EQ(fragment, "tls-ca=/tmp/my%20ca%26%23%3D%25.pem&tls-server-name=ftp.example");
  absl::StatusOr<TlsOptions> back =
      TargetTlsOptions(MakeTarget("ftps://127.0.0.1:21/#" + fragment, true));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, options);
}

TEST(TlsOptionsTest, EmptyOptionsGiveNoFragment) {
  EXPECT_EQ(EncodeTlsFragment(TlsOptions{}), "");
  EXPECT_EQ(EncodeTlsFragment(TlsOptions{.verify = true, .ca_file = "", .server_name = "a.test"}),
            "tls-server-name=a.test");
}

TEST(TlsOptionsTest, RejectsUnknownAndMalformedFragments) {
  EXPECT_THAT(TargetTlsOptions(MakeTarget("https://h/#tls-cert=x", true)).status().message(),
              HasSubstr("target 'secure': unknown TLS option 'tls-cert' in the URL fragment"));
  EXPECT_THAT(TargetTlsOptions(MakeTarget("https://h/#tls-ca", true)).status().message(),
              HasSubstr("malformed TLS option 'tls-ca'"));
  EXPECT_THAT(TargetTlsOptions(MakeTarget("https://h/#tls-ca=", true)).status().message(),
              HasSubstr("malformed TLS option 'tls-ca='"));
  EXPECT_THAT(TargetTlsOptions(MakeTarget("gopher://h/", true)).status().message(),
              HasSubstr("target 'secure': "));
}

}  // namespace
}  // namespace tpslab::loadgen
