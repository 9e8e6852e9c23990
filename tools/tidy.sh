#!/usr/bin/env bash
# Runs clang-tidy with the repository's curated .clang-tidy over project
# sources (all, or the files given). Compile commands come from Bazel's action
# graph (bazel aquery), so flags match the real build.
#   tools/tidy.sh                      every project .cc file
#   tools/tidy.sh common/net/tcp.cc    just these
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Generated headers must exist; a target that does not build is skipped.
./bazelw build --keep_going //... >/dev/null 2>&1 || true
./bazelw aquery 'mnemonic("CppCompile", //...)' --output=jsonproto 2>/dev/null |
  /usr/bin/python3 tools/compile_commands.py "$(./bazelw info execution_root 2>/dev/null)" \
    >compile_commands.json
if (($#)); then files=("$@"); else
  mapfile -t files < <(git ls-files '*.cc' | grep -v '^third_party/')
fi
clang-tidy -p . --quiet --config-file=.clang-tidy "${files[@]}"
