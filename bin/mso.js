#!/usr/bin/env node
// Checked before anything else loads: the compiled code needs Node >= 22.12, and a bare `node` may be the system's 20.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `mso: Node.js >= 22.12 is required, this is ${process.versions.node}. Run mso through npm (npx mso ...), ` +
      'which uses the Node 24 installed by npm ci.\n',
  );
  process.exit(2);
}
// V8's compile cache (Node >= 22.1) keeps the compiled code of mso's modules in the OS temp dir
// (NODE_COMPILE_CACHE overrides the place, NODE_DISABLE_COMPILE_CACHE=1 turns it off); it saves about a fifth of the
// start-up time (npm run bench:startup).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// zod compiles each object schema into a function (new Function) the first time it parses with it: a command parses
// most schemas once or twice, so the compiling costs more than it saves (about 20 ms of a one-node run; a 42-node run
// is the same either way). Its config is shared by every copy of zod through this global, read when a schema is made.
globalThis.__zod_globalConfig = { ...globalThis.__zod_globalConfig, jitless: true };
// The bundled CLI (npm run build: scripts/bundle.mjs) loads a few files where the compiled one loads ~400 modules; a
// build made by tsc alone has only the latter.
const { runCli, nodeIo } = await import('../dist/bundle/main.js').catch((e) =>
  e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('/dist/bundle/main.js')
    ? import('../dist/cli/main.js')
    : Promise.reject(e),
);
process.exitCode = await runCli(process.argv.slice(2), nodeIo());
