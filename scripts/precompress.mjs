// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) beside each file
// named on the command line, for the server to send precompressed (SPEC S16). Node's own
// zlib: nothing to install.
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: precompress.mjs FILE...");
  process.exit(2);
}
for (const file of files) {
  const data = readFileSync(file);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
}
