#!/usr/bin/python3
"""Turns `bazel aquery --output=jsonproto` (stdin) into compile_commands.json.

Usage: bazel aquery 'mnemonic("CppCompile", //...)' --output=jsonproto |
       tools/compile_commands.py EXECUTION_ROOT > compile_commands.json
"""
import json
import os
import sys


def main() -> None:
    execroot = sys.argv[1]
    workspace = os.getcwd()
    graph = json.load(sys.stdin)
    commands = []
    for action in graph.get("actions", []):
        args = action["arguments"]
        if "-c" not in args:
            continue
        source = args[args.index("-c") + 1]
        if source.startswith("external/") or source.startswith("bazel-out/"):
            continue  # system and generated code are not linted
        # clang-tidy does not know gcc-only flags; keep the rest as is.
        args = [a for a in args
                if not a.startswith("-fno-canonical-system-headers")
                and not a.startswith("-D__DATE__") and not a.startswith("-D__TIME__")
                and not a.startswith("-D__TIMESTAMP__")]
        # Sources by their path in the workspace (the execroot's symlink
        # forest only covers what the last build needed); includes and
        # generated files resolve from the execroot.
        absolute = os.path.join(workspace, source)
        args = [absolute if a == source else a for a in args]
        args[1:1] = ["-iquote", workspace]
        commands.append({"directory": execroot, "file": absolute, "arguments": args})
    json.dump(commands, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
