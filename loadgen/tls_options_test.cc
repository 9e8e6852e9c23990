#include "loadgen/tls_options.h"

#include <gtest/gtest.h>

namespace tpslab::loadgen {
namespace {

TEST(TlsOptionsTest, TargetWithoutTlsGetsTheDefaults) {
  v1::Target target;
  target.set_name("secure");
  target.set_url("ftps://u:p@127.0.0.1:2121/");
  EXPECT_EQ(TargetTlsOptions(target),
            (TlsOptions{.verify = true, .ca_file = "", .server_name = ""}));
  EXPECT_EQ(TargetTlsOptions(target), TlsOptions{});
}

TEST(TlsOptionsTest, ReadsEveryField) {
  v1::Target target;
  target.set_url("https://127.0.0.1:8443/");
  target.mutable_tls()->set_ca_file("/tmp/my ca&#=%.pem");
  target.mutable_tls()->set_server_name("web.example");
  EXPECT_EQ(
      TargetTlsOptions(target),
      (TlsOptions{.verify = true, .ca_file = "/tmp/my ca&#=%.pem", .server_name = "web.example"}));
  target.mutable_tls()->set_insecure(true);
  EXPECT_FALSE(TargetTlsOptions(target).verify);
  EXPECT_EQ(TargetTlsOptions(target).ca_file, "/tmp/my ca&#=%.pem");
}

TEST(TlsOptionsTest, SurvivesTheWire) {
  v1::Target target;
  target.set_url("ftps://u:p@127.0.0.1:2121/");
  target.mutable_tls()->set_insecure(true);
  target.mutable_tls()->set_server_name("ftp.test");
  v1::Target received;
  ASSERT_TRUE(received.ParseFromString(target.SerializeAsString()));
  EXPECT_EQ(TargetTlsOptions(received),
            (TlsOptions{.verify = false, .ca_file = "", .server_name = "ftp.test"}));
  EXPECT_EQ(received.url(), "ftps://u:p@127.0.0.1:2121/");
}

}  // namespace
}  // namespace tpslab::loadgen
