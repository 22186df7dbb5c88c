/** `bmcemu guest-agent` in a child process, for tests (cli/bmcemu.ts wires the same function). */
import { main } from '../../../cli/commands/guest-agent.js';

process.exitCode = await main(process.argv.slice(2));
