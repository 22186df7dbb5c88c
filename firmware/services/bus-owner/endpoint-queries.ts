/**
 * The questions a bus owner asks an endpoint once it has an EID (mctpd's
 * query_peer_properties): the message types (mandatory), the vendor-defined
 * message sets when 0x7E or 0x7F is among them, and the UUID.
 */
import { Cmd, VDM_SELECTOR_LAST } from '../../mctp/control/constants.js';
import type { ControlRequester, ControlTarget, RequestOptions } from '../../mctp/control/requester.js';
import type { VdmType } from '../../mctp/control/types.js';
import { MCTP_TYPE_VENDOR_IANA, MCTP_TYPE_VENDOR_PCI } from '../../mctp/constants.js';
import { MctpError } from '../../mctp/errors.js';

export async function queryMessageTypes(req: ControlRequester, target: ControlTarget): Promise<number[]> {
  const r = await req.request(target, { command: Cmd.GetMessageTypeSupport });
  return r.types;
}

export function advertisesVdm(types: readonly number[]): boolean {
  return types.includes(MCTP_TYPE_VENDOR_PCI) || types.includes(MCTP_TYPE_VENDOR_IANA);
}

/**
 * Walk the vendor ID sets from selector 0 until the endpoint says 0xFF. A
 * selector that does not follow on by one is a protocol error (DSP0236 wants
 * them consecutive), which also bounds the walk.
 */
export async function queryVdmTypes(req: ControlRequester, target: ControlTarget): Promise<VdmType[]> {
  const out: VdmType[] = [];
  for (let selector = 0; selector < VDM_SELECTOR_LAST; selector++) {
    const r = await req.request(target, { command: Cmd.GetVdmSupport, selector });
    out.push(r.vdm);
    if (r.nextSelector === VDM_SELECTOR_LAST) return out;
    if (r.nextSelector !== selector + 1) {
      throw new MctpError('ENOMSG', `vendor-defined message support: selector ${selector} was followed by ${r.nextSelector}, not ${selector + 1}`);
    }
  }
  throw new MctpError('ENOMSG', 'vendor-defined message support: no end after 255 sets');
}

export async function queryUuid(req: ControlRequester, target: ControlTarget, opts: RequestOptions = {}): Promise<Buffer> {
  const r = await req.request(target, { command: Cmd.GetEndpointUuid }, opts);
  return r.uuid;
}
