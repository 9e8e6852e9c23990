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
