#!/usr/bin/env node
// Launcher for the `sparsescope` command: runs the compiled CLI from dist/ (built by `npm run build`).
import { access } from 'node:fs/promises';

const entry = new URL('../dist/electron/cli/main.js', import.meta.url);
try {
  await access(entry);
} catch {
  process.stderr.write('sparsescope: the command line is not built yet; run `npm run build` in the sparsescope folder first\n');
  process.exit(2);
}
const { runCli } = await import(entry.href);

// First Ctrl-C cancels the running command cleanly; a second one exits at once.
const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  process.stderr.write('\nsparsescope: stopping (Ctrl-C again to quit now)\n');
  controller.abort();
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
// Let pending writes drain, but do not wait on handles a command left behind.
process.stdout.write('', () => process.exit(process.exitCode));
