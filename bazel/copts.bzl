"""Compiler flags for tpslab's own code (not for generated or system code)."""

# Warnings are errors on project code. Generated protobuf/gRPC code is built
# without these (see proto.bzl); system headers are -isystem and stay quiet.
TPSLAB_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wnon-virtual-dtor",
    "-Wimplicit-fallthrough",
]

TPSLAB_TEST_COPTS = TPSLAB_COPTS

# For code with Asio coroutines. GCC 12 (at -O1 with the sanitizers, and in
# some -O2 builds) reports -Wmismatched-new-delete inside Asio's awaitable
# frame allocator, whose class-specific operator new/delete pair does match:
# a known false positive for coroutines.
TPSLAB_COROUTINE_COPTS = TPSLAB_COPTS + ["-Wno-mismatched-new-delete"]
