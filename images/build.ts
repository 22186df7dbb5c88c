#!/usr/bin/env node
/**
 * `make images`: build (or find in the cache) every guest image bmcemu
 * boots, printing progress. Today that is the x86_64 host image.
 *
 *   node dist/images/build.js [--cache-dir DIR] [--json]
 */
import { parseArgs } from 'node:util';
import { ensureX86HostImage } from './x86-host-image.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cache-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: build.js [--cache-dir DIR] [--json]\n');
    return;
  }
  const img = await ensureX86HostImage({
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    onProgress: (line) => process.stderr.write(`images: ${line}\n`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(img, null, 2)}\n`);
  } else {
    process.stdout.write(`x86 host kernel ${img.kernel}\nx86 host initrd ${img.initrd}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`images: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
