/**
 * Where an instance keeps what must survive restarts (the SEL, FRU, boot
 * options; later the PNOR, users and keys): one directory per instance name,
 * beside the others but never shared, so instances run side by side.
 *
 *   --state-dir DIR                   that directory
 *   $BMCEMU_STATE_DIR/<instance>      when set
 *   $XDG_STATE_HOME/bmcemu/<instance> when set
 *   ~/.local/state/bmcemu/<instance>  otherwise
 *
 * The runtime directory (cli/runtime-dir.ts) is the opposite: tmpfs, gone
 * with the instance.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function defaultStateBase(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BMCEMU_STATE_DIR) return env.BMCEMU_STATE_DIR;
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(xdg, 'bmcemu');
}

/** The state directory for an instance (created, mode 0700: it holds keys and passwords later). */
export function instanceStateDir(instance: string, explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = explicit ? path.resolve(explicit) : path.join(defaultStateBase(env), instance);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
