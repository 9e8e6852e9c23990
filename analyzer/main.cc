// analyzer: the tpslab coordinator. A thin layer over CoordinatorService
// (gRPC ingest), RunStore (SQLite), Api and HttpServer (/metrics, JSON API):
//
//   analyzer serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --db runs.db --token T
//     prints "grpc on HOST:PORT" and "http on HOST:PORT" on stdout, then
//     serves until SIGINT/SIGTERM.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "analyzer/api.h"
#include "analyzer/coordinator_service.h"
#include "analyzer/http_server.h"
#include "analyzer/run_store.h"
#include "common/app/cli.h"
#include "common/net/io_context_pool.h"
#include "common/net/tcp.h"
#include "common/parse/url.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {
namespace {

struct ServeOptions {
  // gRPC endpoint for agents. Default 127.0.0.1:7070.
  parse::Endpoint grpc{"127.0.0.1", 7070};
  // HTTP endpoint for /metrics and the JSON API. Default 127.0.0.1:8080.
  parse::Endpoint http{"127.0.0.1", 8080};
  // SQLite database file. Default analyzer.db in the working directory.
  std::string db = "analyzer.db";
  // Shared secret agents must present. Default empty: none.
  std::string token;
  // HTTP threads. Default 2.
  std::size_t http_threads = 2;
};

int Serve(const ServeOptions& options) {
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(options.db);
  if (!store.ok()) {
    spdlog::error("{}", std::string(store.status().message()));
    return app::kExitFailure;
  }
  LiveLoad live;
  CoordinatorOptions coordinator_options;
  coordinator_options.token = options.token;
  coordinator_options.ingest.on_stored = live.Feeder();
  CoordinatorService service(**store, coordinator_options);

  const std::string grpc_host = options.grpc.host.empty() ? "0.0.0.0" : options.grpc.host;
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(net::FormatHostPort(grpc_host, options.grpc.port),
                           grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    spdlog::error("cannot listen for gRPC on {}",
                  net::FormatHostPort(grpc_host, options.grpc.port));
    return app::kExitFailure;
  }

  net::IoContextPool pool(options.http_threads);
  Api api(**store, service, live);
  HttpServer http(pool, [&api](const HttpRequest& request) { return api.Handle(request); });
  absl::StatusOr<boost::asio::ip::tcp::endpoint> http_at =
      http.Listen(options.http.host, options.http.port);
  if (!http_at.ok()) {
    spdlog::error("http: {}", std::string(http_at.status().message()));
    server->Shutdown();
    return app::kExitFailure;
  }
  std::printf("grpc on %s\n",
              net::FormatHostPort(grpc_host, static_cast<uint16_t>(grpc_port)).c_str());
  std::printf("http on %s\n", net::FormatEndpoint(*http_at).c_str());
  std::fflush(stdout);
  spdlog::info("database {}; {}", options.db,
               options.token.empty() ? "no token: any agent may connect" : "token required");

  pool.HandleSignals([&](int) {
    http.Stop();
    pool.Stop();
  });
  pool.Run();
  spdlog::info("stopping: closing agent streams");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return app::kExitOk;
}

}  // namespace
}  // namespace tpslab::analyzer

int main(int argc, char** argv) {
  using namespace tpslab;
  app::App app("analyzer", "tpslab coordinator: agent ingest, run store, metrics and API", "0.1.0");
  analyzer::ServeOptions serve;
  CLI::App& command =
      app.AddCommand("serve", "Run the coordinator", [&] { return analyzer::Serve(serve); });
  app::AddEndpoint(command, "--grpc", serve.grpc, "gRPC address for agents (port 0: any)");
  app::AddEndpoint(command, "--http", serve.http,
                   "HTTP address for /metrics and /api (port 0: any)");
  command.add_option("--db", serve.db, "SQLite database file")->capture_default_str();
  command.add_option("--token", serve.token, "Shared secret agents must present");
  command.add_option("--http-threads", serve.http_threads, "HTTP threads")->capture_default_str();
  return app.Run(argc, argv);
}
