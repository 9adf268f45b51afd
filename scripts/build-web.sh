#!/usr/bin/env bash
# Builds the admin console into web/dist (SPEC S16): the leptos app for wasm32 with the size
# profile, split into a main module and a module per group of pages, wasm-bindgen's JS
# glue, wasm-opt -Oz, content-hashed file names, index.html written from web/index.html with
# those names, and every asset precompressed (brotli and gzip) for the server to send as is.
# Fails when the WASM a page needs is over its size budget.
#
# Needs what `scripts/setup.sh run` installs (wasm32 target, wasm-bindgen, wasm-split-cli,
# wasm-opt) and node (its zlib does the compression); nothing else.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Cargo reads .cargo/config.toml (the wasm32 flags) from the directory it runs in.
cd "$here"
target_dir="${CARGO_TARGET_DIR:-$here/target}"
case "$target_dir" in /*) ;; *) target_dir="$here/$target_dir" ;; esac
# A target directory of its own: `just run` compiles the API at the same time, and two
# cargo builds in one directory take turns.
target_dir="$target_dir/console"
out="${HUBKEEP_WEB_OUT:-$here/web/dist}"
profile="wasm-release"
# The size gate, in bytes, SPEC S16's goal: the WASM a page needs before it shows (the main
# module, plus its group's module and chunks for a page loaded on demand), raw and
# brotli-compressed.
max_wasm="${HUBKEEP_WEB_MAX_WASM:-1500000}"
max_wasm_br="${HUBKEEP_WEB_MAX_WASM_BR:-450000}"

log() { printf '[web] %s\n' "$*"; }
# The splitter's version (scripts/setup.sh installs this one).
WASM_SPLIT_VERSION="$(awk -F'"' '/^WASM_SPLIT_VERSION=/ {print $2}' "$here/scripts/setup.sh")"

log "compiling the console (profile $profile)"
CARGO_TARGET_DIR="$target_dir" cargo build --manifest-path "$here/Cargo.toml" -p hubkeep-web \
  --target wasm32-unknown-unknown --profile "$profile"

stage="$(mktemp -d "${out%/}.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# Split at the pages' split points (web/src/lib.rs, `lazy_pages!`): `app.wasm` is what every
# page needs, `split_<module>.wasm` a group of pages, `chunk_<n>.wasm` code some groups share;
# `__wasm_split.js` fetches a group and its chunks the first time one of its pages is shown.
# The raw module keeps its relocations for this (`-Clink-args=--emit-relocs`,
# .cargo/config.toml).
log "wasm-split-cli (wasm_split_cli_support $WASM_SPLIT_VERSION)"
wasm-split-cli "$target_dir/wasm32-unknown-unknown/$profile/hubkeep-web.wasm" "$stage/split" \
  --out-name app
for required in app.wasm __wasm_split.js; do
  [ -e "$stage/split/$required" ] || { log "wasm-split-cli wrote no $required"; exit 1; }
done

log "wasm-bindgen $(wasm-bindgen --version | awk '{print $2}')"
# --keep-lld-exports: the split modules import the table, memory and shared symbols the main
# module exports.
wasm-bindgen --target web --no-typescript --keep-lld-exports --out-name app \
  --out-dir "$stage/glue" "$stage/split/app.wasm"

# The console has no JS snippets of its own; if a dependency ever adds some, they would need
# serving too: stop rather than ship a console that cannot start.
if [ -e "$stage/glue/snippets" ]; then
  log "wasm-bindgen wrote snippets/: this script does not ship them yet"
  exit 1
fi

log "$(wasm-opt --version | awk '{print $1, $2, $3}') -Oz"
# The features rustc's wasm32 target emits by default; wasm-opt must accept them.
# wasm-opt warns of the name subsection wasm-split-cli writes for data segments, which it
# does not know and --strip-debug drops anyway: that warning is left out, anything else shown.
optimise() {
  local status=0
  wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$2" "$1" 2> "$stage/wasm-opt.log" || status=$?
  grep -v '^warning: unknown name subsection with id 3 at [0-9]*$' "$stage/wasm-opt.log" >&2 || true
  return "$status"
}

# Replaces every `$2` in file `$1` by `$3`, and fails unless there were `$4` of them ("+": at
# least one).
replace() {
  local count
  count="$( { grep -oF -- "$2" "$1" || true; } | wc -l)"
  if { [ "$4" = "+" ] && [ "$count" -lt 1 ]; } || { [ "$4" != "+" ] && [ "$count" -ne "$4" ]; }; then
    log "expected $4 of $2 in $(basename "$1"), found $count"
    exit 1
  fi
  FROM="$2" TO="$3" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$1"
}

# Content-hashed names: a new build is a new name, so assets may be cached for ever. The
# hash of the files' hashes, so that with several files no text can move from one to the
# next unseen.
hash_of() {
  for file in "$@"; do sha256sum < "$file"; done | sha256sum | cut -c1-16
}
mkdir -p "$stage/dist"
link="$stage/split/__wasm_split.js"
optimise "$stage/glue/app_bg.wasm" "$stage/glue/app_bg.opt.wasm"
wasm="hubkeep-$(hash_of "$stage/glue/app_bg.opt.wasm")_bg.wasm"
cp "$stage/glue/app_bg.opt.wasm" "$stage/dist/$wasm"
# Each split module by its own content; the loader fetches it by that name.
for module in "$stage"/split/*.wasm; do
  stem="$(basename "$module" .wasm)"
  [ "$stem" = app ] && continue
  optimise "$module" "$stage/module.wasm"
  name="$stem-$(hash_of "$stage/module.wasm").wasm"
  mv "$stage/module.wasm" "$stage/dist/$name"
  replace "$link" "\"./$stem.wasm\"" "\"./$name\"" 1
done
# The JS glue imports the loader and the loader imports the glue (for the main module's
# exports), so neither can be named by its own content: both are named by their contents
# together, before either names the other.
build="$(hash_of "$stage/glue/app.js" "$link")"
js="hubkeep-$build.js"
loader="hubkeep-split-$build.js"
# Only the import statements: the name stays the key of the main module's imports.
replace "$stage/glue/app.js" 'from "./__wasm_split.js"' "from \"./$loader\"" +
replace "$link" 'from "./app.js"' "from \"./$js\"" 1
css="style-$(hash_of "$here/web/style.css").css"
cp "$stage/glue/app.js" "$stage/dist/$js"
cp "$link" "$stage/dist/$loader"
cp "$here/web/style.css" "$stage/dist/$css"

# index.html: the template's placeholders replaced by the hashed names.
sed -e "s|{{js}}|/$js|g" -e "s|{{loader}}|/$loader|g" -e "s|{{wasm}}|/$wasm|g" \
  -e "s|{{css}}|/$css|g" "$here/web/index.html" > "$stage/dist/index.html"
if grep -q '{{' "$stage/dist/index.html"; then
  log "web/index.html has a placeholder this script does not fill"
  exit 1
fi

log "precompressing (brotli 11, gzip 9)"
node "$here/scripts/precompress.mjs" "$stage/dist/$js" "$stage/dist/$loader" "$stage/dist/$css" \
  "$stage/dist"/*.wasm

# The files of this build, for the gate and for the next build (below).
(cd "$stage/dist" && ls -A | grep -vxF '.build-files' > .build-files || true)

# The size gate (SPEC S16): what the browser fetches for the console's first page, and for
# the first page of each group of pages (the main module, the group's module and the chunks
# it needs), raw and brotli.
node "$here/scripts/wasm-weights.mjs" "$stage/dist" "$wasm" "$loader" "$max_wasm" "$max_wasm_br"

# The previous build's own files (its `.build-files`, never served: hidden names are not
# assets) carried over: a tab opened before this build still fetches its groups of pages by
# the old names. One generation only: what the previous build had carried is not carried
# again.
if [ -f "$out/.build-files" ]; then
  while IFS= read -r name; do
    [ "$name" = index.html ] && continue
    [ -e "$stage/dist/$name" ] || [ ! -f "$out/$name" ] || cp -p "$out/$name" "$stage/dist/$name"
  done < "$out/.build-files"
fi

# Swap the new build in whole: a server running from web/dist never sees half of one.
rm -rf "${out%/}.old"
[ -d "$out" ] && mv "$out" "${out%/}.old"
mv "$stage/dist" "$out"
rm -rf "${out%/}.old"
log "built $out"
