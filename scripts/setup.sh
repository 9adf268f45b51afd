#!/usr/bin/env bash
# Installs the tools `just run` (`setup.sh run`) or `just test` (`setup.sh test`, the
# default: everything) need, idempotently. Safe to run on every CI run: each step is skipped
# when the right version is already present. Only the package registries are used
# (crates.io, npm, Debian), never binary downloads from elsewhere.
#
# Running needs only what builds the console (scripts/build-web.sh): the wasm32 target,
# wasm-bindgen's CLI, wasm-split-cli and wasm-opt. Browsers, axe-core, the OpenAPI tools, the OpenID provider
# and wrk are for the tests and benches.
set -euo pipefail

PURPOSE="${1:-test}"
case "$PURPOSE" in run | test) ;; *) echo "usage: setup.sh [run|test]" >&2; exit 2 ;; esac

TOOLS_DIR="${HUBKEEP_TOOLS_DIR:-$HOME/.hubkeep-tools}"
WASM_SPLIT_VERSION="0.2.4"
BINARYEN_VERSION="132"       # Debian's binaryen is too old: its output fails in Chromium
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$TOOLS_DIR"
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

log() { printf '[setup] %s\n' "$*"; }

# wasm-bindgen's CLI must equal the library version in Cargo.lock, byte for byte.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$here/Cargo.lock")"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # not --locked: one of its locked dependencies is missing from the registry mirror.
  # No default features: they are a TLS stack for wasm-bindgen-test-runner's downloads,
  # which we never use; without them 150 crates compile instead of 336.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features --force
fi

# The splitter of the console's WASM into a module per group of pages (scripts/build-web.sh):
# the library leptos's own build tool uses, with its command line.
installed="$(cargo install --list)"
if ! grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:" <<< "$installed"; then
  log "installing wasm-split-cli (wasm_split_cli_support $WASM_SPLIT_VERSION)"
  cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" \
    --features build-binary --force
fi

if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] || ! "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version | grep -q "version $BINARYEN_VERSION"; then
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt) from npm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION"
fi

if [ "$PURPOSE" = run ]; then
  log "ready to run: wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), wasm-split-cli $WASM_SPLIT_VERSION, $(wasm-opt --version)"
  exit 0
fi

# npm tools pinned by a package.json and its lock file in the repository (`$1`, relative to
# the repo), installed under $TOOLS_DIR/`$2` and reinstalled only when the lock file changes;
# `$1`/node_modules points at them, so that ES modules and scripts there resolve their
# imports (ES imports resolve only through a node_modules folder beside or above the file;
# NODE_PATH is ignored). `$3` says what they are, for the log.
npm_tools() {
  local from="$here/$1" into="$TOOLS_DIR/$2" what="$3" sum
  sum="$(sha256sum "$from/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$into/.lock-sum" 2>/dev/null)" != "$sum" ]; then
    log "installing $what ($1/package-lock.json)"
    mkdir -p "$into"
    cp "$from/package.json" "$from/package-lock.json" "$into/"
    npm ci --silent --no-audit --no-fund --prefix "$into"
    echo "$sum" > "$into/.lock-sum"
  fi
  ln -sfn "$into/node_modules" "$from/node_modules"
}

# The OpenAPI tools (lint, TypeScript client, TypeScript runner), for openapi/typescript/.
npm_tools openapi openapi-tools "the OpenAPI npm tools"
# The OpenID provider of the tests and of `just oidc-dev` (oidc-provider; provider.mjs is an
# ES module).
npm_tools e2e/oidc oidc-provider "the OpenID provider of the tests"
# axe-core, the accessibility engine the browser tests inject into every page they walk
# (SPEC S16). The tests read e2e/axe/node_modules/axe-core/axe.min.js (or HUBKEEP_AXE_JS) and
# fail when it is missing.
npm_tools e2e/axe axe-core "axe-core for the browser tests"

# The Python tools (client generator, schemathesis; the SMTP server of the notification
# tests), pinned in openapi/requirements.txt and e2e/smtp/requirements.txt, in a virtual
# environment of their own.
VENV="$TOOLS_DIR/venv"
req_sum="$(cat "$here/openapi/requirements.txt" "$here/e2e/smtp/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$VENV/.req-sum" 2>/dev/null)" != "$req_sum" ]; then
  log "installing the Python tools (openapi/requirements.txt, e2e/smtp/requirements.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r "$here/openapi/requirements.txt" -r "$here/e2e/smtp/requirements.txt"
  echo "$req_sum" > "$VENV/.req-sum"
fi

need_apt=()
command -v jq >/dev/null || need_apt+=(jq)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

log "ready to test: wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-opt --version)"
