// The unit tier's TypeScript, transformed once for the whole run instead of in every test process.
//
// `node --import tsx` costs each test file's process its own loader: tsx starts a hooks thread, and every module the
// test imports goes through it, to be resolved and transformed (or read from tsx's cache) there and handed back. For
// ~100 test files that was about 0.5–1 s of CPU each, a third of the tier. Here each .ts file of daemon/, extension/,
// webview/ and test/ is transformed by esbuild with the options tsx uses (esm, this Node's target, keepNames, no
// tsconfig options: the root tsconfig.json has none) into a mirror folder, and the test processes run plain
// JavaScript with no loader (a few worker processes that share the test files, scripts/unit-worker.mjs).
//
// What stays as it was: `import.meta.url`, `dirname` and `filename` are those of the .ts source (so paths a test or
// the daemon builds from them, fixtures, dist/, foldWorker.ts, are the same); bare imports resolve from the
// repository's node_modules (the mirror is inside it); stack traces point into the .ts sources (inline source maps,
// and node runs with --enable-source-maps, as tsx turns them on). A child process or worker that runs a .ts file
// itself still registers tsx, as before.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const FOLDERS = ['daemon', 'extension', 'webview', 'test'];

/**
 * The folder this run writes the JavaScript to: inside node_modules, so bare imports find the repository's packages,
 * and one per run (named by its process id), so two runs in one checkout do not write over each other's files.
 */
export function runFolder(root, pid = process.pid) {
  return path.join(root, 'node_modules', '.cache', 'zavhoz-unit', `run-${pid}`);
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Removes the folders of runs that ended without removing their own (killed, or the machine stopped). */
function removeAbandoned(root) {
  const parent = path.dirname(runFolder(root));
  if (!fs.existsSync(parent)) return;
  for (const name of fs.readdirSync(parent)) {
    const pid = Number(/^run-(\d+)$/.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !isRunning(pid)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

function typeScriptFiles(root) {
  return FOLDERS.flatMap((folder) =>
    fs
      .readdirSync(path.join(root, folder), { recursive: true })
      .map((name) => path.join(root, folder, String(name)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.includes(`${path.sep}node_modules${path.sep}`)),
  );
}

/**
 * Transforms every .ts file of the source folders into this run's folder, which is removed when this process exits;
 * resolves a function that gives the JavaScript file of a .ts file (absolute, under one of those folders).
 */
export async function buildUnitJs(root) {
  removeAbandoned(root);
  const out = runFolder(root);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
  const javaScriptOf = (file) => {
    const relative = path.relative(root, file);
    if (!FOLDERS.includes(relative.split(path.sep)[0]) || !relative.endsWith('.ts')) throw new Error(`Not a TypeScript file of ${FOLDERS.join(', ')}: ${file}`);
    return path.join(out, relative.replace(/\.ts$/, '.js'));
  };
  // The sources are ES modules (the root package.json says so); the mirror's .js files must be read as such too.
  fs.writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  const files = typeScriptFiles(root);
  for (const folder of new Set(files.map((file) => path.dirname(javaScriptOf(file))))) fs.mkdirSync(folder, { recursive: true });
  await Promise.all(
    files.map(async (file) => {
      const source = await fs.promises.readFile(file, 'utf8');
      const { code } = await esbuild.transform(source, {
        loader: 'ts',
        format: 'esm',
        target: `node${process.versions.node}`,
        keepNames: true,
        sourcemap: 'inline',
        sourcefile: file,
        define: {
          'import.meta.url': JSON.stringify(pathToFileURL(file).href),
          'import.meta.dirname': JSON.stringify(path.dirname(file)),
          'import.meta.filename': JSON.stringify(file),
        },
      });
      await fs.promises.writeFile(javaScriptOf(file), code);
    }),
  );
  return javaScriptOf;
}
