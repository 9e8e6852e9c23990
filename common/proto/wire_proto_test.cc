// Checks that the tpslab.v1 schema compiles, round-trips, and keeps the shape
// that agents and the coordinator depend on.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "common/proto/coordinator.grpc.pb.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::v1 {
namespace {

TEST(WireProtoTest, ScenarioRoundTripsThroughJsonAndBinary) {
  const char* json = R"({
    "name": "upload-knee",
    "targets": [{"name": "default", "url": "ftp://u:p@127.0.0.1:2121/"}],
    "transactions": [{
      "name": "upload",
      "steps": [
        {"name": "connect", "ftp": {"op": "OP_CONNECT"}},
        {"name": "login", "ftp": {"op": "OP_LOGIN"}},
        {"name": "stor", "ftp": {"op": "OP_UPLOAD", "path": "f-${iteration}",
                                  "sizeBytes": "1024", "dataMode": "DATA_MODE_EPSV"}},
        {"name": "quit", "ftp": {"op": "OP_QUIT"}}
      ]
    }],
    "closed": {"stages": [{"duration": "10s", "target": 8}, {"duration": "5s", "target": 64}]},
    "thresholds": [{"expression": "p99(upload) < 50ms"}]
  })";
  Scenario scenario;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &scenario).ok());
  ASSERT_EQ(scenario.transactions_size(), 1);
  EXPECT_EQ(scenario.transactions(0).steps(2).ftp().op(), FtpStep::OP_UPLOAD);
  EXPECT_EQ(scenario.transactions(0).steps(2).ftp().size_bytes(), 1024u);
  ASSERT_EQ(scenario.load_case(), Scenario::kClosed);
  EXPECT_EQ(scenario.closed().stages(1).duration().seconds(), 5);
  EXPECT_EQ(scenario.closed().stages(1).target(), 64);

  Scenario copy;
  ASSERT_TRUE(copy.ParseFromString(scenario.SerializeAsString()));
  EXPECT_EQ(copy.SerializeAsString(), scenario.SerializeAsString());
}

TEST(WireProtoTest, UnknownEnumNameInJsonIsAnErrorNamingIt) {
  Scenario scenario;
  const auto status = google::protobuf::util::JsonStringToMessage(
      R"({"transactions": [{"steps": [{"ftp": {"op": "OP_TELEPORT"}}]}]})", &scenario);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("OP_TELEPORT"), std::string::npos)
      << status.message();
}

TEST(WireProtoTest, CoordinatorServiceHasTheRpcsAgentsUse) {
  const auto* service = RegisterRequest::descriptor()->file()->FindServiceByName("Coordinator");
  ASSERT_NE(service, nullptr);
  ASSERT_NE(service->FindMethodByName("Register"), nullptr);
  const auto* stream = service->FindMethodByName("Stream");
  ASSERT_NE(stream, nullptr);
  EXPECT_TRUE(stream->client_streaming());
  EXPECT_TRUE(stream->server_streaming());
  ASSERT_NE(service->FindMethodByName("Ping"), nullptr);
  EXPECT_EQ(service->file()->package(), "tpslab.v1");
}

void ExpectUnspecifiedZero(const google::protobuf::EnumDescriptor* e) {
  EXPECT_EQ(e->value(0)->number(), 0) << e->full_name();
  EXPECT_NE(e->value(0)->name().find("UNSPECIFIED"), std::string::npos) << e->full_name();
}

void ExpectUnspecifiedZero(const google::protobuf::Descriptor* message) {
  for (int i = 0; i < message->enum_type_count(); ++i) ExpectUnspecifiedZero(message->enum_type(i));
  for (int i = 0; i < message->nested_type_count(); ++i) {
    ExpectUnspecifiedZero(message->nested_type(i));
  }
}

TEST(WireProtoTest, EveryEnumStartsWithUnspecifiedZero) {
  const google::protobuf::FileDescriptor* files[] = {
      RegisterRequest::descriptor()->file(), Scenario::descriptor()->file(),
      LoadInterval::descriptor()->file(), HostSample::descriptor()->file(),
      RunSpec::descriptor()->file()};
  for (const auto* file : files) {
    for (int i = 0; i < file->enum_type_count(); ++i) ExpectUnspecifiedZero(file->enum_type(i));
    for (int i = 0; i < file->message_type_count(); ++i) {
      ExpectUnspecifiedZero(file->message_type(i));
    }
  }
}

}  // namespace
}  // namespace tpslab::v1
