/**
 * Preloaded into a process by a test (`NODE_OPTIONS=--require …/fileProbe.cjs`, e.g. test/integration/daemon-start.test.ts):
 * records each file under ZAVHOZ_PROBE_ROOT that the process loads as a CommonJS module or opens through `fs`, one
 * absolute path a line in ZAVHOZ_PROBE_RECORD, appended at once (a test reads it while the process runs).
 * Plain CommonJS, as the process it watches runs no TypeScript loader.
 */
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const process = require('node:process');
const { URL, fileURLToPath } = require('node:url');

const root = process.env.ZAVHOZ_PROBE_ROOT;
const record = process.env.ZAVHOZ_PROBE_RECORD;

if (root && record) {
  const seen = new Set();
  let recording = false;
  /** Notes `file` (a path or file: URL; a descriptor or buffer is not a path we watch) if it lies under the root. */
  const note = (file) => {
    if (recording) return;
    let full;
    if (typeof file === 'string') full = path.resolve(file);
    else if (file instanceof URL && file.protocol === 'file:') full = fileURLToPath(file);
    else return;
    if (!full.startsWith(root + path.sep) || seen.has(full)) return;
    seen.add(full);
    recording = true;
    try {
      fs.appendFileSync(record, `${full}\n`);
    } finally {
      recording = false;
    }
  };
  /** Wraps `owner[name]` (a function taking the file first) so that each call notes its file. */
  const watch = (owner, name) => {
    const original = owner[name];
    owner[name] = function (file, ...rest) {
      note(file);
      return original.call(this, file, ...rest);
    };
  };
  for (const name of ['openSync', 'open', 'readFileSync', 'readFile', 'createReadStream']) watch(fs, name);
  for (const name of ['open', 'readFile']) watch(fs.promises, name);
  // Every CommonJS module, by whatever `require` it came through.
  watch(Module.prototype, 'load');
}
