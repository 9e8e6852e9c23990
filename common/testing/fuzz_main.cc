// main() for libFuzzer-style fuzz targets built without libFuzzer: link
// //common/testing:fuzz_main into a cc_test whose sources define
// LLVMFuzzerTestOneInput. See fuzz_driver.h for the flags.
#include <cstddef>
#include <cstdint>

#include "common/testing/fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

int main(int argc, char** argv) {
  return tpslab::testing::FuzzerMain(argc, argv, LLVMFuzzerTestOneInput, LLVMFuzzerInitialize);
}
