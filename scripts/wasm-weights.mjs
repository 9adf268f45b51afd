// The console's size gate (SPEC S16), run by scripts/build-web.sh on a built dist folder:
// for the main module alone (every page) and for each group of pages loaded on demand (the
// main module + the group's module + the chunks the loader fetches with it), the bytes a
// browser downloads, raw and brotli (`<file>.br`). Prints one line each; exits 1 when one is
// over the budget, 2 when the loader cannot be read (a wasm-split-cli whose output changed).
//
// usage: wasm-weights.mjs DIST MAIN_WASM LOADER_JS MAX_RAW MAX_BROTLI
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const [dist, main, loader, maxRaw, maxBr] = process.argv.slice(2);
if (!maxBr) {
  console.error("usage: wasm-weights.mjs DIST MAIN_WASM LOADER_JS MAX_RAW MAX_BROTLI");
  process.exit(2);
}
const fail = (why) => {
  console.error(`[web] ${loader}: ${why}`);
  process.exit(2);
};
const budget = { raw: Number(maxRaw), br: Number(maxBr) };
if (!Number.isSafeInteger(budget.raw) || !Number.isSafeInteger(budget.br)) {
  fail(`the budgets must be whole numbers of bytes, not ${maxRaw} / ${maxBr}`);
}
const js = readFileSync(join(dist, loader), "utf8");

// `const __chunk_7 = makeLoad(() => { const src = fetch(new URL("./chunk_7-<hash>.wasm", …`
const fetched = (text) =>
  [...text.matchAll(/new URL\("\.\/([A-Za-z0-9_.-]+\.wasm)"/g)].map((m) => m[1]);
const chunks = new Map();
for (const m of js.matchAll(/const (__chunk_\d+) = makeLoad\(([\s\S]*?)\n, \[\]\);/g)) {
  const files = fetched(m[2]);
  if (files.length !== 1) fail(`chunk ${m[1]} fetches ${files.length} files`);
  chunks.set(m[1], files[0]);
}
// `export const __wasm_split_load_<group> = wrapAsyncCb(makeLoad(<fetcher>, [__chunk_…]));`
const groups = [];
const group = /export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\(([\s\S]*?), \[([^\]]*)\]\)\);/g;
for (const m of js.matchAll(group)) {
  const deps = m[3].split(",").map((d) => d.trim()).filter(Boolean);
  const files = fetched(m[2]);
  // A group with no code of its own (all of it in chunks) has an empty loader instead.
  const empty = /^\(\) => async \(_imp\) => \(\{\}\)$/.test(m[2].trim());
  if (files.length !== (empty ? 0 : 1)) fail(`group ${m[1]} fetches ${files.length} modules`);
  for (const dep of deps) {
    if (!chunks.has(dep)) fail(`group ${m[1]} needs ${dep}, which is not defined`);
    files.push(chunks.get(dep));
  }
  groups.push({ name: m[1], files });
}
// Everything the loader defines was understood, and every module of the build is one of
// them: a change in wasm-split-cli's output stops the build instead of going unmeasured.
if (groups.length === 0) fail("no groups of pages found");
const defined = (pattern) => (js.match(pattern) || []).length;
if (defined(/export const __wasm_split_load_/g) !== groups.length) fail("groups not understood");
if (defined(/const __chunk_\d+ = makeLoad\(/g) !== chunks.size) fail("chunks not understood");
if (defined(/new URL\(/g) !== fetched(js).length) fail("fetches not understood");
// The build's own files (`.build-files`; the previous build's, carried over, are not ours).
const ours = readFileSync(join(dist, ".build-files"), "utf8").split("\n").filter(Boolean);
const named = new Set([...chunks.values(), ...groups.flatMap((g) => g.files)]);
for (const file of ours.filter((f) => f.endsWith(".wasm") && f !== main)) {
  if (!named.has(file)) fail(`${file} is in the build but the loader never fetches it`);
}

const size = (file) => {
  try {
    return { raw: statSync(join(dist, file)).size, br: statSync(join(dist, `${file}.br`)).size };
  } catch {
    fail(`${file} is not in ${dist} (or has no .br)`);
  }
};
const sum = (files) =>
  files.map(size).reduce((a, b) => ({ raw: a.raw + b.raw, br: a.br + b.br }), { raw: 0, br: 0 });

let over = false;
const report = (what, files) => {
  const { raw, br } = sum(files);
  const bad = raw > budget.raw || br > budget.br;
  over ||= bad;
  console.log(
    `[web] ${what}: ${raw} bytes, ${br} brotli in ${files.length} file(s)` +
      ` (budget ${maxRaw} / ${maxBr})${bad ? " OVER" : ""}`,
  );
};
report(`main ${main}`, [main]);
for (const group of groups) report(`first page of ${group.name}`, [main, ...new Set(group.files)]);
const all = new Set([main, ...chunks.values(), ...groups.flatMap((g) => g.files)]);
const { raw, br } = sum([...all]);
console.log(`[web] all WASM: ${raw} bytes, ${br} brotli in ${all.size} files (not gated)`);
if (over) {
  console.error("[web] the console's WASM is over its size budget");
  process.exit(1);
}
