// Throughput of tpslab::net::LineReader (MB/s of input, lines/s) over an
// in-memory stream, so the figures measure the parser and the coroutine
// round trip per read, not the kernel. Each ReadLine re-arms a Deadline, as a
// server does.
//
//   ./bazelw run //benchmarks:line_reader_benchmark
//
// Arguments: chunk = bytes a read returns at most (1460: one Ethernet-sized
// TCP segment per read; 8192: the reader's whole free buffer).
#include <benchmark/benchmark.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/net/deadline.h"
#include "common/net/line_reader.h"
#include "common/net/test_util.h"

namespace {

using tpslab::net::Deadline;
using tpslab::net::LineReader;
using tpslab::net::LineResult;

// Serves the prepared input in chunks of at most `chunk` bytes, then eof.
using MemoryStream = tpslab::net::testing::ChunkedStream;

// About 1 MiB of typical FTP control traffic: ~17 bytes a command.
std::string FtpCommands() {
  static constexpr std::string_view kCommands[] = {
      "USER anonymous\r\n",
      "PASS guest@example\r\n",
      "CWD /pub/data/2024\r\n",
      "TYPE I\r\n",
      "PASV\r\n",
      "SIZE file-000123.bin\r\n",
      "RETR file-000123.bin\r\n",
      "STOR upload-42.dat\r\n",
  };
  std::string data;
  while (data.size() < (1u << 20)) {
    for (std::string_view command : kCommands) data += command;
  }
  return data;
}

// About 1 MiB of 1 KiB lines (1022 bytes + CRLF), e.g. long HTTP headers.
std::string LongLines() {
  std::string line(1022, 'h');
  line += "\r\n";
  std::string data;
  while (data.size() < (1u << 20)) data += line;
  return data;
}

boost::asio::awaitable<void> ReadAllLines(LineReader& reader, MemoryStream& stream,
                                          Deadline& deadline, std::int64_t& lines) {
  for (;;) {
    deadline.ExpiresAfter(std::chrono::seconds(30));
    const LineResult result = co_await reader.ReadLine(stream, deadline);
    if (result.error) break;
    benchmark::DoNotOptimize(result.line.data());
    ++lines;
  }
  deadline.ExpiresNever();  // Leaves no timer behind, so run() returns.
}

void RunLineReader(benchmark::State& state, const std::string& data) {
  boost::asio::io_context context(1);
  MemoryStream stream(context.get_executor(), data, static_cast<std::size_t>(state.range(0)));
  Deadline deadline(context.get_executor(), stream);
  LineReader reader;  // Default 8 KiB limit.
  std::int64_t lines = 0;
  for (auto _ : state) {
    stream.Rewind();
    boost::asio::co_spawn(context, ReadAllLines(reader, stream, deadline, lines),
                          boost::asio::detached);
    context.run();
    context.restart();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
  state.SetItemsProcessed(lines);
}

void BM_LineReaderFtpCommands(benchmark::State& state) {
  static const std::string data = FtpCommands();
  RunLineReader(state, data);
}
BENCHMARK(BM_LineReaderFtpCommands)->ArgName("chunk")->Arg(1460)->Arg(8192);

void BM_LineReaderLongLines(benchmark::State& state) {
  static const std::string data = LongLines();
  RunLineReader(state, data);
}
BENCHMARK(BM_LineReaderLongLines)->ArgName("chunk")->Arg(1460)->Arg(8192);

}  // namespace

BENCHMARK_MAIN();
