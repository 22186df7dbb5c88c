/**
 * The guest agent's console lines. The BMC side captures the guest's console
 * and takes some of these lines as boot milestones (instance/bmc-instance.ts
 * matches `bmcemu-agent: started`, `astlpc up`, `echo ok`), and tests wait
 * for them, so their text is an interface: change none of it lightly.
 *
 *   bmcemu-agent: started ...                  devices found, agent running (printed by the command)
 *   bmcemu-agent: astlpc up v<ver> mtu <mtu>   channel active (MTU incl. the 4-byte header); again after every re-init
 *   bmcemu-agent: echo ok <ms> ms              echo policy: an echo to the BMC came back (after every "astlpc up")
 *   bmcemu-agent: error <message>              something is wrong; the message names the fix
 *
 * status() lines go to stdout; note() lines (everything else: why the link
 * is not up, the link going down, progress) to stderr, with the same prefix.
 */
import type { AstlpcStateEvent } from '../firmware/mctp/astlpc/binding.js';
import type { EchoEvent } from './echo-policy.js';
import type { HostFirmware } from './host-firmware.js';

export const AGENT_PREFIX = 'bmcemu-agent:';

export interface AgentConsole {
  /** A line the other side or a test waits for (stdout). */
  status(line: string): void;
  /** Everything else (stderr). */
  note(line: string): void;
}

export function processConsole(): AgentConsole {
  return {
    status: (line) => void process.stdout.write(`${AGENT_PREFIX} ${line}\n`),
    note: (line) => void process.stderr.write(`${AGENT_PREFIX} ${line}\n`),
  };
}

/** Report what `fw` does on `out`; returns the function that stops reporting. */
export function reportHostFirmware(fw: HostFirmware, out: AgentConsole): () => void {
  const offs = [reportAstlpc(fw, out), reportEcho(fw, out), reportKcsWire(fw, out)];
  return () => {
    for (const off of offs) off();
  };
}

/**
 * One "astlpc up" per activation. Why the channel does not come up (BMC not
 * ready, a control area it cannot use) is noted once per distinct reason, so
 * a silent console never hides it.
 */
function reportAstlpc(fw: HostFirmware, out: AgentConsole): () => void {
  let up = false;
  let lastReason = '';
  const onState = (ev: AstlpcStateEvent): void => {
    if (ev.carrier !== up) {
      up = ev.carrier;
      lastReason = ev.lastError ?? '';
      if (up) out.status(`astlpc up v${ev.version} mtu ${ev.mtu}`);
      else out.note(`astlpc down: ${ev.state}${ev.lastError ? ` (${ev.lastError})` : ''}`);
      return;
    }
    if (!up && ev.lastError && ev.lastError !== lastReason) {
      lastReason = ev.lastError;
      out.note(`astlpc ${ev.state}: ${ev.lastError}`);
    }
  };
  fw.astlpc.on('state', onState);
  return () => fw.astlpc.off('state', onState);
}

function reportEcho(fw: HostFirmware, out: AgentConsole): () => void {
  const onEcho = (ev: EchoEvent): void => {
    switch (ev.kind) {
      case 'assigned':
        out.note(`MCTP EID ${ev.eid} (assigned by the BMC's bus owner)`);
        return;
      case 'ok':
        out.status(`echo ok ${ev.rttMs.toFixed(2)} ms`);
        return;
      case 'no-eid':
        out.status(`error no EID assigned within ${ev.deadlineMs / 1000} s: is the BMC's bus owner running? (or give the agent --eid)`);
        return;
      case 'abandoned':
        out.note(`echo abandoned, the link went down: ${ev.error.message}`);
        return;
      case 'failed':
        out.status(
          `error echo to EID ${ev.bmcEid} failed for ${ev.deadlineMs / 1000} s: ${ev.error.message} ` +
            `(is the BMC's MCTP echo responder running, and does the BMC route EID ${ev.eid}?)`,
        );
        return;
    }
  };
  fw.on('echo', onEcho);
  return () => fw.off('echo', onEcho);
}

/**
 * Wire-level trouble: a BMC speaking another KCS wire version is a real
 * misconfiguration (status error, once per message); lost alignment during a
 * BMC restart is routine and only noted; so is a BMC that does not answer
 * for a while (it may simply not be running yet).
 */
function reportKcsWire(fw: HostFirmware, out: AgentConsole): () => void {
  let lastError = '';
  const onProtocolError = (err: Error & { code?: string }): void => {
    if (err.code === 'EVERSION' || err.code === 'ECHANNEL') {
      if (err.message !== lastError) out.status(`error ${err.message}: run a bmcemu of the same release on both sides`);
      lastError = err.message;
    } else {
      out.note(`KCS wire: ${err.message}; resynchronising`);
    }
  };
  const onReady = (): void => {
    lastError = '';
  };
  const onSilent = (): void => out.note('no answer on the KCS wire yet: waiting for the BMC (is bmcemu running and QEMU connected to its KCS socket?)');
  fw.kcsClient.on('protocol-error', onProtocolError);
  fw.kcsClient.on('ready', onReady);
  fw.on('kcs-wire-silent', onSilent);
  return () => {
    fw.kcsClient.off('protocol-error', onProtocolError);
    fw.kcsClient.off('ready', onReady);
    fw.off('kcs-wire-silent', onSilent);
  };
}
