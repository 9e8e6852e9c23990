#!/usr/bin/env bash
# Formats every C++ source of the project with the repository's .clang-format.
#   tools/format.sh          rewrite files in place
#   tools/format.sh --check  list files that need formatting; exit 1 if any
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc' | grep -v '^third_party/')
((${#files[@]})) || exit 0
if [[ "${1:-}" == "--check" ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "needs formatting: $f"
      bad=1
    fi
  done
  exit "$bad"
fi
clang-format -i "${files[@]}"
