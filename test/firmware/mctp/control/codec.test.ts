/**
 * The control codec against byte vectors written from DSP0236's tables
 * (type byte, Rq/D/IID, command, [CC], data), and hostile variants of each:
 * truncated, extra bytes, bad fields, Rq/D wrong, wrong type byte, IC set.
 */
import t from 'tap';
import {
  Cmd,
  CONTROL_VERSIONS,
  decodeControlHeader,
  decodeRequest,
  decodeResponse,
  encodeControlHeader,
  encodeErrorResponse,
  encodeRequest,
  encodeResponse,
  formatUuid,
  fromSocket,
  nextIid,
  socketPayload,
  toUuidBytes,
  type ControlRequest,
  type ControlResponse,
} from '../../../../firmware/mctp/control/index.js';
import { prng } from '../../../helpers/prng.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const UUID = '0123456789abcdef0011223344556677';

interface Vector {
  name: string;
  iid: number;
  req: ControlRequest;
  reqHex: string;
  resp: ControlResponse;
  respHex: string;
  physAddrLen?: number;
}

// Request: 00 | 0x80 | iid | command | data.   Response: 00 | iid | command | CC | data.
const VECTORS: Vector[] = [
  {
    name: 'Set Endpoint ID (set 10; accepted, no pool)',
    iid: 5,
    req: { command: Cmd.SetEndpointId, operation: 0, eid: 10 },
    reqHex: '00 85 01 00 0a',
    resp: { command: Cmd.SetEndpointId, assignment: 0, allocation: 0, eid: 10, poolSize: 0 },
    respHex: '00 05 01 00 00 0a 00',
  },
  {
    name: 'Set Endpoint ID (force 0x20; rejected, pool of 4 received)',
    iid: 31,
    req: { command: Cmd.SetEndpointId, operation: 1, eid: 0x20 },
    reqHex: '00 9f 01 01 20',
    resp: { command: Cmd.SetEndpointId, assignment: 1, allocation: 2, eid: 0x21, poolSize: 4 },
    respHex: '00 1f 01 00 12 21 04',
  },
  {
    name: 'Get Endpoint ID (EID 9, simple endpoint, static matching)',
    iid: 0,
    req: { command: Cmd.GetEndpointId },
    reqHex: '00 80 02',
    resp: { command: Cmd.GetEndpointId, eid: 9, endpointType: 0, eidType: 2, medium: 0 },
    respHex: '00 00 02 00 09 02 00',
  },
  {
    name: 'Get Endpoint ID (bus owner, dynamic, medium 0x5a)',
    iid: 1,
    req: { command: Cmd.GetEndpointId },
    reqHex: '00 81 02',
    resp: { command: Cmd.GetEndpointId, eid: 8, endpointType: 1, eidType: 0, medium: 0x5a },
    respHex: '00 01 02 00 08 10 5a',
  },
  {
    name: 'Get Endpoint UUID',
    iid: 2,
    req: { command: Cmd.GetEndpointUuid },
    reqHex: '00 82 03',
    resp: { command: Cmd.GetEndpointUuid, uuid: hex(UUID) },
    respHex: `00 02 03 00 ${UUID}`,
  },
  {
    name: 'Get MCTP Version Support (base spec: 1.0, 1.1, 1.2, 1.3.1)',
    iid: 3,
    req: { command: Cmd.GetVersionSupport, messageType: 0xff },
    reqHex: '00 83 04 ff',
    resp: { command: Cmd.GetVersionSupport, versions: [...CONTROL_VERSIONS] },
    respHex: '00 03 04 00 04 f1f0ff00 f1f1ff00 f1f2ff00 f1f3f100',
  },
  {
    name: 'Get Message Type Support (control, PLDM, vendor PCI)',
    iid: 4,
    req: { command: Cmd.GetMessageTypeSupport },
    reqHex: '00 84 05',
    resp: { command: Cmd.GetMessageTypeSupport, types: [0x00, 0x01, 0x7e] },
    respHex: '00 04 05 00 03 00 01 7e',
  },
  {
    name: 'Get Vendor Defined Message Support (PCI, last set)',
    iid: 6,
    req: { command: Cmd.GetVdmSupport, selector: 0 },
    reqHex: '00 86 06 00',
    resp: { command: Cmd.GetVdmSupport, nextSelector: 0xff, vdm: { format: 'pci', vendorId: 0xccde, commandSet: 0x00f0 } },
    respHex: '00 06 06 00 ff 00 ccde 00f0',
  },
  {
    name: 'Get Vendor Defined Message Support (IANA, more to come)',
    iid: 7,
    req: { command: Cmd.GetVdmSupport, selector: 0 },
    reqHex: '00 87 06 00',
    resp: { command: Cmd.GetVdmSupport, nextSelector: 1, vdm: { format: 'iana', vendorId: 0x0000a015, commandSet: 0x1234 } },
    respHex: '00 07 06 00 01 01 0000a015 1234',
  },
  {
    name: 'Resolve Endpoint ID (direct, 1-byte physical address)',
    iid: 8,
    req: { command: Cmd.ResolveEndpointId, eid: 10 },
    reqHex: '00 88 07 0a',
    resp: { command: Cmd.ResolveEndpointId, bridgeEid: 10, physAddr: hex('1d') },
    respHex: '00 08 07 00 0a 1d',
  },
  {
    name: 'Allocate Endpoint IDs (15 from 11; accepted)',
    iid: 9,
    req: { command: Cmd.AllocateEndpointIds, operation: 0, poolSize: 15, startEid: 11 },
    reqHex: '00 89 08 00 0f 0b',
    resp: { command: Cmd.AllocateEndpointIds, status: 0, poolSize: 15, firstEid: 11 },
    respHex: '00 09 08 00 00 0f 0b',
  },
  {
    name: 'Routing Information Update (two entries, 1-byte addresses)',
    iid: 10,
    physAddrLen: 1,
    req: {
      command: Cmd.RoutingInfoUpdate,
      entries: [
        { entryType: 0, rangeSize: 1, firstEid: 10, physAddr: hex('1d') },
        { entryType: 3, rangeSize: 5, firstEid: 0x10, physAddr: hex('1e') },
      ],
    },
    reqHex: '00 8a 09 02  00 01 0a 1d  c0 05 10 1e',
    resp: { command: Cmd.RoutingInfoUpdate },
    respHex: '00 0a 09 00',
  },
  {
    name: 'Get Routing Table Entries (two entries, last page)',
    iid: 11,
    req: { command: Cmd.GetRoutingTableEntries, handle: 0 },
    reqHex: '00 8b 0a 00',
    resp: {
      command: Cmd.GetRoutingTableEntries,
      nextHandle: 0xff,
      entries: [
        { rangeSize: 1, startEid: 9, entryType: 0, static: true, port: 1, bindingId: 0xff, mediaType: 0, physAddr: Buffer.alloc(0) },
        { rangeSize: 3, startEid: 0x10, entryType: 3, static: false, port: 2, bindingId: 0x05, mediaType: 0, physAddr: hex('1d') },
      ],
    },
    respHex: '00 0b 0a 00 ff 02  01 09 21 ff 00 00  03 10 c2 05 00 01 1d',
  },
  {
    name: 'Prepare for Endpoint Discovery',
    iid: 12,
    req: { command: Cmd.PrepareEndpointDiscovery },
    reqHex: '00 8c 0b',
    resp: { command: Cmd.PrepareEndpointDiscovery },
    respHex: '00 0c 0b 00',
  },
  {
    name: 'Endpoint Discovery',
    iid: 13,
    req: { command: Cmd.EndpointDiscovery },
    reqHex: '00 8d 0c',
    resp: { command: Cmd.EndpointDiscovery },
    respHex: '00 0d 0c 00',
  },
  {
    name: 'Discovery Notify',
    iid: 14,
    req: { command: Cmd.DiscoveryNotify },
    reqHex: '00 8e 0d',
    resp: { command: Cmd.DiscoveryNotify },
    respHex: '00 0e 0d 00',
  },
  {
    name: 'Get Network ID',
    iid: 15,
    req: { command: Cmd.GetNetworkId },
    reqHex: '00 8f 0e',
    resp: { command: Cmd.GetNetworkId, networkId: hex(UUID) },
    respHex: `00 0f 0e 00 ${UUID}`,
  },
];

t.test('every command: request and response bytes both ways', async (t) => {
  for (const v of VECTORS) {
    t.test(v.name, async (t) => {
      const opts = { physAddrLen: v.physAddrLen ?? 0 };
      t.equal(encodeRequest(v.iid, v.req).toString('hex'), hex(v.reqHex).toString('hex'), 'request encodes to the spec bytes');
      const dq = decodeRequest(hex(v.reqHex), opts);
      t.ok(dq.ok, 'request decodes');
      if (dq.ok) {
        t.same(dq.value.header, { rq: true, datagram: false, iid: v.iid, command: v.req.command });
        t.same(dq.value.request, v.req);
      }
      t.equal(encodeResponse(v.iid, v.resp).toString('hex'), hex(v.respHex).toString('hex'), 'response encodes to the spec bytes');
      const dr = decodeResponse(hex(v.respHex));
      t.ok(dr.ok, 'response decodes');
      if (dr.ok) {
        t.same(dr.value.header, { rq: false, datagram: false, iid: v.iid, command: v.resp.command });
        t.equal(dr.value.cc, 0);
        t.same(dr.value.response, v.resp);
      }
    });
  }
});

t.test('hostile variants of every request', async (t) => {
  for (const v of VECTORS) {
    const good = hex(v.reqHex);
    const opts = { physAddrLen: v.physAddrLen ?? 0 };
    const extra = decodeRequest(Buffer.concat([good, Buffer.from([0])]), opts);
    t.match(extra, { ok: false, error: { kind: 'length', cc: 0x03 } }, `${v.name}: one byte too many`);
    const short = decodeRequest(good.subarray(0, good.length - 1), opts);
    if (good.length > 3) t.match(short, { ok: false, error: { kind: 'length', cc: 0x03 } }, `${v.name}: one byte short`);
    else t.match(short, { ok: false, error: { kind: 'header' } }, `${v.name}: truncated header`);
    const rq0 = Buffer.from(good);
    rq0[1] &= 0x7f;
    t.match(decodeRequest(rq0, opts), { ok: false, error: { kind: 'header' } }, `${v.name}: Rq = 0 is not a request`);
    const dgram = Buffer.from(good);
    dgram[1] |= 0x40;
    const dd = decodeRequest(dgram, opts);
    t.ok(dd.ok && dd.value.header.datagram, `${v.name}: D = 1 decodes and is reported`);
    const wrongType = Buffer.from(good);
    wrongType[0] = 0x01;
    t.match(decodeRequest(wrongType, opts), { ok: false, error: { kind: 'header' } }, `${v.name}: type 0x01`);
    const ic = Buffer.from(good);
    ic[0] = 0x80;
    t.match(decodeRequest(ic, opts), { ok: false, error: { kind: 'header' } }, `${v.name}: IC bit set`);
  }
});

t.test('hostile variants of every response', async (t) => {
  for (const v of VECTORS) {
    const good = hex(v.respHex);
    // Resolve Endpoint ID's physical address is the rest of the message, so it has no "extra" byte.
    const variable = v.resp.command === Cmd.ResolveEndpointId;
    if (!variable) {
      t.match(decodeResponse(Buffer.concat([good, Buffer.from([0])])), { ok: false, error: { kind: 'length' } }, `${v.name}: extra byte`);
    }
    if (good.length > 4 && !variable) {
      t.match(decodeResponse(good.subarray(0, good.length - 1)), { ok: false, error: { kind: 'length' } }, `${v.name}: truncated`);
    }
    t.match(decodeResponse(good.subarray(0, 3)), { ok: false, error: { kind: 'length' } }, `${v.name}: no completion code`);
    const rq = Buffer.from(good);
    rq[1] |= 0x80;
    t.match(decodeResponse(rq), { ok: false, error: { kind: 'header' } }, `${v.name}: Rq = 1`);
    const d = Buffer.from(good);
    d[1] |= 0x40;
    t.match(decodeResponse(d), { ok: false, error: { kind: 'header' } }, `${v.name}: D = 1 in a response`);
    const ic = Buffer.from(good);
    ic[0] = 0x80;
    t.match(decodeResponse(ic), { ok: false, error: { kind: 'header' } }, `${v.name}: IC bit set`);
  }
  // Resolve Endpoint ID's physical address is the rest of the message: only the bridge EID is required.
  t.match(decodeResponse(hex('00 08 07 00')), { ok: false, error: { kind: 'length' } }, 'Resolve Endpoint ID without the bridge EID');
  t.match(
    decodeResponse(Buffer.concat([hex('00 08 07 00 0a'), Buffer.alloc(33)])),
    { ok: false, error: { kind: 'length' } },
    'Resolve Endpoint ID with a physical address longer than any link-layer address (32)',
  );
});

t.test('bad field values', async (t) => {
  t.match(decodeRequest(hex('00 89 08 03 0f 0b')), { ok: false, error: { kind: 'field', cc: 0x02 } }, 'Allocate Endpoint IDs operation 3 is reserved');
  t.match(
    decodeRequest(hex('00 8a 09 01 00 00 0a 1d'), { physAddrLen: 1 }),
    { ok: false, error: { kind: 'field', cc: 0x02 } },
    'Routing Information Update: range size 0',
  );
  t.match(
    decodeRequest(hex('00 8a 09 01 00 01 ff 1d'), { physAddrLen: 1 }),
    { ok: false, error: { kind: 'field' } },
    'Routing Information Update: broadcast EID',
  );
  t.match(
    decodeRequest(hex('00 8a 09 01 00 02 fe 1d'), { physAddrLen: 1 }),
    { ok: false, error: { kind: 'field' } },
    'Routing Information Update: a range running past 254',
  );
  t.match(
    decodeRequest(hex('00 8a 09 02 00 01 0a 1d'), { physAddrLen: 1 }),
    { ok: false, error: { kind: 'length' } },
    'Routing Information Update: count larger than the entries',
  );
  t.match(decodeResponse(hex('00 06 06 00 ff 02 ccde 00f0')), { ok: false, error: { kind: 'field' } }, 'VDM format 2 is undefined');
  t.match(decodeResponse(hex('00 06 06 00 ff 01 ccde 00f0')), { ok: false, error: { kind: 'length' } }, 'IANA format with a PCI-sized vendor ID');
  t.match(decodeResponse(hex('00 04 05 00 03 00 01')), { ok: false, error: { kind: 'length' } }, 'message type count larger than the list');
  t.match(decodeResponse(hex('00 03 04 00 02 f1f0ff00')), { ok: false, error: { kind: 'length' } }, 'version count larger than the list');
  t.match(decodeResponse(hex('00 0b 0a 00 ff 01 01 09 21 ff 00 02 1d')), { ok: false, error: { kind: 'length' } }, 'routing entry address cut short');
  t.match(decodeResponse(hex('00 0b 0a 00 ff 02 01 09 21 ff 00 00')), { ok: false, error: { kind: 'length' } }, 'routing entry count larger than the entries');
});

t.test('unknown commands and reserved bits', async (t) => {
  for (const cmd of [0x00, 0x0f, 0x10, 0x14, 0xf0, 0xff]) {
    t.match(decodeRequest(Buffer.from([0x00, 0x80, cmd])), { ok: false, error: { kind: 'unsupported', cc: 0x05 } }, `command 0x${cmd.toString(16)}`);
  }
  // Bit 5 of byte 1 and bits 7:2 of the Set Endpoint ID operation are reserved: ignored on receipt.
  const r = decodeRequest(hex('00 a5 01 fc 0a'));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.header.iid, 5);
    t.same(r.value.request, { command: Cmd.SetEndpointId, operation: 0, eid: 10 });
  }
  t.match(decodeRequest(Buffer.alloc(0)), { ok: false, error: { kind: 'header' } }, 'empty message');
});

t.test('error responses: the completion code alone, trailing bytes tolerated', async (t) => {
  t.equal(encodeErrorResponse(2, Cmd.GetVersionSupport, 0x80).toString('hex'), '00020480');
  t.same(decodeResponse(hex('00 02 04 80')), { ok: true, value: { header: { rq: false, datagram: false, iid: 2, command: 4 }, cc: 0x80 } });
  t.equal(encodeErrorResponse(8, Cmd.ResolveEndpointId, 0x01, Buffer.from([0])).toString('hex'), '0008070100', 'mctpd-style 4-byte answer');
  t.match(decodeResponse(hex('00 08 07 01 00')), { ok: true, value: { cc: 0x01 } });
  t.match(decodeResponse(hex('00 08 42 05')), { ok: true, value: { cc: 0x05 } }, 'an unknown command may be answered with an error');
  t.match(decodeResponse(hex('00 08 42 00')), { ok: false, error: { kind: 'unsupported' } }, '... but not with a success we cannot decode');
});

t.test('header, IID counter, socket framing and UUIDs', async (t) => {
  t.equal(encodeControlHeader({ rq: true, datagram: true, iid: 0x1f, command: 0x02 }).toString('hex'), '00df02');
  t.same(decodeControlHeader(hex('00 df 02')), { ok: true, value: { rq: true, datagram: true, iid: 31, command: 2 } });
  t.equal(nextIid(0), 1);
  t.equal(nextIid(31), 0, 'the counter wraps at 5 bits');
  const msg = hex('00 85 01 00 0a');
  t.equal(socketPayload(msg).toString('hex'), '8501000a', 'the type byte goes in the address');
  t.same(fromSocket(0, socketPayload(msg)), msg);
  t.equal(formatUuid(hex(UUID)), '01234567-89ab-cdef-0011-223344556677');
  t.same(toUuidBytes('01234567-89ab-cdef-0011-223344556677'), hex(UUID));
  t.throws(() => toUuidBytes('not-a-uuid'), { code: 'EINVAL' });
  t.throws(() => toUuidBytes(Buffer.alloc(15)), { code: 'EINVAL' });
});

t.test('random bytes never make a decoder throw', async (t) => {
  const rnd = prng(0x2545f491);
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(rnd() * 24);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
    if (len > 0 && rnd() < 0.8) b[0] = 0;
    if (len > 2 && rnd() < 0.8) b[2] = 1 + Math.floor(rnd() * 14);
    const q = decodeRequest(b, { physAddrLen: Math.floor(rnd() * 3) });
    const r = decodeResponse(b);
    if (q.ok || r.ok) decoded++;
  }
  t.ok(decoded > 0, `${decoded} of 20000 random messages decoded; none threw`);
});
