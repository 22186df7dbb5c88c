#!/usr/bin/env node
// The installed entry point (`make run` / `make install-bin` link it onto
// PATH; package.json's "bin") runs the compiled CLI. Node resolves a
// symlinked main script to its real path, so the URL below is this
// checkout's dist/ wherever the link lives.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli/bmcemu.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`bmcemu: ${fileURLToPath(cli)} is not built yet: run make build in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
  process.exit(1);
}
await import(cli.href);
