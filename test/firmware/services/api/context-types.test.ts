/**
 * The real objects the lead wires in fit the context as they are (checked by
 * the typechecker; the assertions only keep tap happy).
 */
import t from 'tap';
import type { Ast2500Soc } from '../../../../hw-models/ast2500-soc.js';
import type { AstlpcBinding } from '../../../../firmware/mctp/astlpc/binding.js';
import type { AstlpcPart, HardwarePart, IpmiPart, ReadinessPart } from '../../../../firmware/services/api/context.js';
import type { IpmiService } from '../../../../firmware/services/ipmi/ipmi-service.js';
import { ReadinessEvents } from '../../../../firmware/services/api/readiness-source.js';

type Fits<A, B> = A extends B ? true : false;
const astlpc: Fits<AstlpcBinding, AstlpcPart> = true;
const hardware: Fits<Ast2500Soc, HardwarePart> = true;
const events: Fits<ReadinessEvents, ReadinessPart> = true;
const ipmi: Fits<IpmiService, IpmiPart> = true;

t.test('AstlpcBinding, Ast2500Soc, ReadinessEvents and IpmiService satisfy their parts', async (t) => {
  t.ok(astlpc && hardware && events && ipmi);
});

t.test('ReadinessEvents keeps the milestones of the current boot', async (t) => {
  const ev = new ReadinessEvents({ now: () => 1000 });
  const seen: unknown[] = [];
  ev.on('event', (r) => seen.push(r));
  ev.milestone('kernel', { detail: 'x' });
  ev.milestone('agent');
  t.same(ev.current(), [
    { detail: 'x', kind: 'boot-milestone', name: 'kernel', time: 1000 },
    { kind: 'boot-milestone', name: 'agent', time: 1000 },
  ]);
  ev.hostReset('power-off');
  t.same(ev.current(), []);
  t.equal(seen.length, 3);
  t.same(seen[2], { kind: 'host-reset', reason: 'power-off', time: 1000 });
});
