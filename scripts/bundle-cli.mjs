#!/usr/bin/env node
// Bundles the berth CLI into a few files so that each invocation resolves and
// loads one module graph instead of dozens: `berth run` starts ~20 ms sooner.
// Command modules stay separate chunks, loaded only when their command runs.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist/cli-bundle',
  sourcemap: true,
  // CommonJS with dynamic require()s (cp's tar handling): loaded by node from node_modules, on use only.
  external: ['tar-stream'],
  logLevel: 'warning',
});
