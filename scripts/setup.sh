#!/usr/bin/env bash
# Installs the tools `just run` (`setup.sh run`) or `just test` (`setup.sh test`, the
# default: everything) need, idempotently. Safe to run on every CI run: each step is skipped
# when the right version is already present. Only the package registries are used
# (crates.io, npm, Debian), never binary downloads from elsewhere.
#
# Running needs only what builds the console (scripts/build-web.sh): the wasm32 target,
# wasm-bindgen's CLI and wasm-opt. Browsers, axe-core, the OpenAPI tools, the OpenID provider
# and wrk are for the tests and benches.
set -euo pipefail

PURPOSE="${1:-test}"
case "$PURPOSE" in run | test) ;; *) echo "usage: setup.sh [run|test]" >&2; exit 2 ;; esac

TOOLS_DIR="${HUBKEEP_TOOLS_DIR:-$HOME/.hubkeep-tools}"
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

if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] || ! "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version | grep -q "version $BINARYEN_VERSION"; then
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt) from npm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION"
fi

if [ "$PURPOSE" = run ]; then
  log "ready to run: wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-opt --version)"
  exit 0
fi

# The OpenAPI tools (lint, TypeScript client, TypeScript runner), pinned in openapi/package.json
# and its lock file; reinstalled only when the lock file changes. openapi/node_modules points
# at them so that openapi/typescript/ resolves its imports.
NODE_TOOLS="$TOOLS_DIR/openapi-tools"
lock_sum="$(sha256sum "$here/openapi/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$NODE_TOOLS/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  log "installing the OpenAPI npm tools (openapi/package-lock.json)"
  mkdir -p "$NODE_TOOLS"
  cp "$here/openapi/package.json" "$here/openapi/package-lock.json" "$NODE_TOOLS/"
  npm ci --silent --no-audit --no-fund --prefix "$NODE_TOOLS"
  echo "$lock_sum" > "$NODE_TOOLS/.lock-sum"
fi
ln -sfn "$NODE_TOOLS/node_modules" "$here/openapi/node_modules"

# The OpenID provider of the tests and of `just oidc-dev` (oidc-provider), pinned in
# e2e/oidc/package.json and its lock file; reinstalled only when the lock file changes.
# e2e/oidc/node_modules points at it: provider.mjs is an ES module, and ES imports resolve
# only through a node_modules folder beside or above the file (NODE_PATH is ignored).
OIDC_TOOLS="$TOOLS_DIR/oidc-provider"
oidc_sum="$(sha256sum "$here/e2e/oidc/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$OIDC_TOOLS/.lock-sum" 2>/dev/null)" != "$oidc_sum" ]; then
  log "installing the OpenID provider of the tests (e2e/oidc/package-lock.json)"
  mkdir -p "$OIDC_TOOLS"
  cp "$here/e2e/oidc/package.json" "$here/e2e/oidc/package-lock.json" "$OIDC_TOOLS/"
  npm ci --silent --no-audit --no-fund --prefix "$OIDC_TOOLS"
  echo "$oidc_sum" > "$OIDC_TOOLS/.lock-sum"
fi
ln -sfn "$OIDC_TOOLS/node_modules" "$here/e2e/oidc/node_modules"

# axe-core, the accessibility engine the browser tests inject into every page they walk
# (SPEC S16), pinned in e2e/axe/package.json and its lock file; reinstalled only when the lock
# file changes. The tests read e2e/axe/node_modules/axe-core/axe.min.js (or HUBKEEP_AXE_JS)
# and fail when it is missing.
AXE_TOOLS="$TOOLS_DIR/axe-core"
axe_sum="$(sha256sum "$here/e2e/axe/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$AXE_TOOLS/.lock-sum" 2>/dev/null)" != "$axe_sum" ]; then
  log "installing axe-core for the browser tests (e2e/axe/package-lock.json)"
  mkdir -p "$AXE_TOOLS"
  cp "$here/e2e/axe/package.json" "$here/e2e/axe/package-lock.json" "$AXE_TOOLS/"
  npm ci --silent --no-audit --no-fund --prefix "$AXE_TOOLS"
  echo "$axe_sum" > "$AXE_TOOLS/.lock-sum"
fi
ln -sfn "$AXE_TOOLS/node_modules" "$here/e2e/axe/node_modules"

# The Python tools (client generator, schemathesis), pinned in openapi/requirements.txt, in a
# virtual environment of their own.
VENV="$TOOLS_DIR/venv"
req_sum="$(sha256sum "$here/openapi/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.req-sum" 2>/dev/null)" != "$req_sum" ]; then
  log "installing the OpenAPI Python tools (openapi/requirements.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$here/openapi/requirements.txt"
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
