#!/usr/bin/env bash
# Vendors files of one npm package into third_party/npm/<package>/ so that the
# build never needs the network. Reproduces what is checked in:
#
#   tools/vendor_npm.sh uplot 1.6.32 dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE
#
# It runs `npm pack PACKAGE@VERSION` in a temporary folder (the registry
# tarball, no install scripts run), extracts it, checks the tarball's
# integrity against the registry's, copies the named files (paths inside the
# package) flat into third_party/npm/<package>/, writes README.md there
# (package, version, tarball integrity, how it was fetched, sha256 of every
# file) and prints the sha256 of every copied file. A BUILD.bazel already in
# the folder is kept; other files there are replaced.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 PACKAGE VERSION FILE_IN_PACKAGE..." >&2
  echo "example: $0 uplot 1.6.32 dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE" >&2
  exit 2
fi
package="$1"
version="$2"
shift 2
files=("$@")

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/third_party/npm/$package"

command -v npm >/dev/null || { echo "$0: npm is not installed" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --json prints the tarball's name and sha512 integrity as the registry has it.
(cd "$tmp" && npm pack --json "$package@$version" >pack.json 2>npm.log) || {
  echo "$0: npm pack $package@$version failed:" >&2
  cat "$tmp/npm.log" >&2
  exit 1
}
read -r tarball integrity < <(/usr/bin/python3 -c '
import json, sys
entry = json.load(open(sys.argv[1]))[0]
print(entry["filename"], entry["integrity"])' "$tmp/pack.json")

# npm pack already verified the download against the registry's integrity;
# check the tarball on disk again so a corrupted copy cannot slip through.
actual="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
if [[ "$actual" != "$integrity" ]]; then
  echo "$0: $tarball integrity $actual does not match the registry's $integrity" >&2
  exit 1
fi

mkdir -p "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x"
for f in "${files[@]}"; do
  [[ -f "$tmp/x/package/$f" ]] || { echo "$0: $package@$version has no file $f" >&2; exit 1; }
done

mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name BUILD.bazel -exec rm -rf {} +
sums=()
for f in "${files[@]}"; do
  name="$(basename "$f")"
  cp "$tmp/x/package/$f" "$dest/$name"
  chmod 0644 "$dest/$name"
  sums+=("$(cd "$dest" && sha256sum "$name")")
done

{
  echo "# $package $version (vendored from npm)"
  echo
  echo "Package: \`$package\`, version \`$version\`, from the npm registry."
  echo "Tarball: \`$tarball\`, integrity \`$integrity\`."
  echo
  echo "Fetched and copied by:"
  echo
  echo "    tools/vendor_npm.sh $package $version ${files[*]}"
  echo
  echo "(\`npm pack\` into a temporary folder, extract, copy these files flat into"
  echo "this folder). Do not edit them by hand: rerun the command, with a new"
  echo "version to upgrade. The package's license is LICENSE here."
  echo
  echo "| file | from | sha256 |"
  echo "| --- | --- | --- |"
  for i in "${!files[@]}"; do
    read -r sum name <<<"${sums[$i]}"
    echo "| $name | package/${files[$i]} | \`$sum\` |"
  done
} >"$dest/README.md"

echo "vendored $package@$version ($integrity) into ${dest#"$root"/}:"
printf '  %s\n' "${sums[@]}"
