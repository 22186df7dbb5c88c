/** `bmcemu guest-agent` in a child process, for tests (cli/bmcemu.ts wires the same function). */
import { guestAgentMain } from '../../../cli/commands/guest-agent.js';

await guestAgentMain(process.argv.slice(2));
