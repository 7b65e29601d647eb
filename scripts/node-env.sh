# Sourced by the project's scripts (test.sh, run-local.sh, bench/run.sh, .ci/run): makes sure the
# `node` first on PATH is one grantline supports (>= 22.12; Node 24 LTS is the target).
#
#   source scripts/node-env.sh
#   grantline_node_env || exit 1
#
# When the machine's node is older (these machines ship Node 20, past its end of life), the npm
# registry's `node@24` package, which carries the official Node 24 binary, is installed once into
# the project-local, git-ignored folder .tools/node24 and put first on PATH for this script and its
# children. The system's Node is never replaced or changed. npm and npx then run on that node too.

grantline_node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node24"

# True when `$1` (a node binary) is at least 22.12.
grantline_node_supported() {
  local v major minor
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  (( major > 22 || (major == 22 && minor >= 12) ))
}

grantline_node_env() {
  local system_node
  system_node="$(command -v node 2>/dev/null || true)"
  if [[ -n "$system_node" ]] && grantline_node_supported "$system_node"; then
    return 0
  fi
  local bin="$grantline_node_dir/node_modules/.bin"
  if ! grantline_node_supported "$bin/node"; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "node-env: node ${system_node:+at $system_node }is older than 22.12 and npm is missing to fetch Node 24; install Node.js 22.12 or newer" >&2
      return 1
    fi
    echo "node-env: node on PATH is $("${system_node:-false}" --version 2>/dev/null || echo missing); installing node@24 from the npm registry into ${grantline_node_dir#"$PWD"/}"
    # Into a fresh folder, then moved in place, so an interrupted install is never taken for a good one.
    local tmp="$grantline_node_dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # node@24's preinstall links the platform's binary in; npm 11 runs dependency scripts only when
    # the installing project allows them.
    printf '{ "private": true, "allowScripts": { "node": true } }\n' >"$tmp/package.json"
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node@24 >&2 \
      || ! grantline_node_supported "$tmp/node_modules/.bin/node"; then
      rm -rf "$tmp"
      echo "node-env: installing node@24 failed" >&2
      return 1
    fi
    rm -rf "$grantline_node_dir"
    mv "$tmp" "$grantline_node_dir"
  fi
  export PATH="$bin:$PATH"
  echo "node-env: using Node $(node --version) from ${bin#"$PWD"/} (the system's node is left as it is)"
}
