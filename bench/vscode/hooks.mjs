// @ts-check
// A module resolve hook (node:module register) that answers `import … from 'vscode'` with ./stub.mjs.
const stub = new URL('./stub.mjs', import.meta.url).href;

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'vscode') return { url: stub, shortCircuit: true, format: 'module' };
  return nextResolve(specifier, context);
}
