// Reads a recorded /proc fixture from monitor/testdata in tests (the test's
// working directory is the runfiles root of the workspace).
//
//   std::string stat = ReadFixture("proc_stat");
#ifndef TPSLAB_MONITOR_TEST_FIXTURE_H_
#define TPSLAB_MONITOR_TEST_FIXTURE_H_

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tpslab::monitor {

// Returns the contents of monitor/testdata/`name`; throws when missing.
inline std::string ReadFixture(const std::string& name) {
  std::ifstream in("monitor/testdata/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture monitor/testdata/" + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_TEST_FIXTURE_H_
