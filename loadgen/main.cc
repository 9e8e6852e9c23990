// loadgen: scenario-driven FTP and HTTP/1.1 load generator. See
// run_command.h and agent.h for the command line and docs/ARCHITECTURE.md for the design.
#include <string>

#include "common/app/cli.h"
#include "loadgen/agent.h"
#include "loadgen/run_command.h"

int main(int argc, char** argv) {
  tpslab::app::App app("loadgen", "Scenario-driven FTP and HTTP load generator", "0.1.0");
  tpslab::loadgen::RunOptions run_options;
  CLI::App& run = app.AddCommand("run", "Run a load test (scenario file or one-line form)",
                                 [&] { return tpslab::loadgen::RunCommand(run_options); });
  tpslab::loadgen::AddRunOptions(run, run_options);
  tpslab::loadgen::AgentOptions agent_options;
  CLI::App& agent = app.AddCommand("agent", "Take shares of the runs a coordinator dispatches",
                                   [&] { return tpslab::loadgen::AgentCommand(agent_options); });
  tpslab::loadgen::AddAgentOptions(agent, agent_options);
  return app.Run(argc, argv);
}
