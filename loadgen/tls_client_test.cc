#include "loadgen/tls_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ssl/error.hpp>
#include <thread>

#include "loadgen/step_result.h"

namespace tpslab::loadgen {
namespace {

using ::testing::HasSubstr;

TEST(TlsClientTest, MissingCaFileNamesTheFile) {
  absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> context =
      MakeClientTlsContext({.verify = true, .ca_file = "/nonexistent/ca.pem", .server_name = ""});
  ASSERT_FALSE(context.ok());
  EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(context.status().message(),
              HasSubstr("cannot load TLS CA file '/nonexistent/ca.pem': "));
}

TEST(TlsClientTest, NoVerificationNeedsNoTrustStore) {
  absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> context =
      MakeClientTlsContext({.verify = false, .ca_file = "/nonexistent/ca.pem", .server_name = ""});
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*context)->native_handle()), SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*context)->native_handle()), TLS1_2_VERSION);
}

TEST(TlsClientTest, OneContextPerThreadAndTrustOptions) {
  const TlsOptions insecure{.verify = false, .ca_file = "", .server_name = ""};
  absl::StatusOr<TlsClientConfig> a = ThreadTlsClientConfig(insecure, "127.0.0.1");
  absl::StatusOr<TlsClientConfig> b = ThreadTlsClientConfig(
      {.verify = false, .ca_file = "", .server_name = "ftp.test"}, "127.0.0.1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->context, b->context);
  EXPECT_EQ(a->server_name, "127.0.0.1");
  EXPECT_EQ(b->server_name, "ftp.test");
  EXPECT_FALSE(a->verify);

  std::shared_ptr<boost::asio::ssl::context> other_thread;
  std::thread([&] { other_thread = ThreadTlsClientConfig(insecure, "127.0.0.1")->context; }).join();
  EXPECT_NE(other_thread, a->context);

  absl::StatusOr<TlsClientConfig> missing = ThreadTlsClientConfig(
      {.verify = true, .ca_file = "/nonexistent/ca.pem", .server_name = ""}, "127.0.0.1");
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

TEST(TlsClientTest, OpenSslErrorsAreTlsAndTruncationIsReset) {
  const boost::system::error_code handshake(
      ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED),
      boost::asio::error::get_ssl_category());
  EXPECT_EQ(StepResult::Classify(handshake), v1::ERROR_CLASS_TLS);
  EXPECT_THAT(StepResult::FromError(handshake, "AUTH TLS").message,
              HasSubstr("AUTH TLS: certificate verify failed"));
  EXPECT_EQ(StepResult::Classify(boost::asio::ssl::error::stream_truncated), v1::ERROR_CLASS_RESET);
  EXPECT_EQ(StepResult::Classify(boost::asio::ssl::error::unexpected_result), v1::ERROR_CLASS_TLS);
  EXPECT_EQ(StepResult::Classify(boost::asio::error::eof), v1::ERROR_CLASS_RESET);
}

}  // namespace
}  // namespace tpslab::loadgen
