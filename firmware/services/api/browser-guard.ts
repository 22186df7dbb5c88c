/**
 * What a browser can be tricked into sending. Two checks, on every request
 * whether or not the API has a token:
 *
 * - Cross-origin requests are refused (403 E_CROSS_ORIGIN). Browsers send
 *   `Origin` on every cross-origin request and on websocket upgrades; a page
 *   of another site must not type into the host console or power the host
 *   off. Clients that send no Origin (the CLI, curl) are not browsers and
 *   pass; a same-origin page's Origin names this server's Host.
 * - On an open loopback API, a Host header that is not a loopback name is
 *   refused (403 E_BAD_HOST): otherwise a site that points its own DNS name
 *   at 127.0.0.1 (DNS rebinding) would be "same-origin" with the API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from './credentials.js';
import { ApiError, sendError } from './errors.js';

/** The host part of a Host header ("[::1]:80" → "[::1]"), or null when it does not parse. */
export function hostName(hostHeader: string): string | null {
  // A Host is name[:port]; anything URL syntax would read as a path or credentials is not one.
  if (/[\s/?#@\\]/.test(hostHeader)) return null;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return null;
  }
}

/** Why a request's Origin is refused, or null when it is absent or names this server. */
export function originRefusal(origin: string | undefined, host: string | undefined): string | null {
  if (origin === undefined) return null;
  if (origin === 'null') return 'a request from an opaque origin (Origin: null) is refused';
  let originHost: string;
  let hostAsSeen: string | null = null;
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `a request from a ${u.protocol} origin is refused`;
    originHost = u.host;
    // Normalised the same way (default ports dropped, case folded) under the origin's scheme.
    if (host !== undefined && hostName(host) !== null) hostAsSeen = new URL(`${u.protocol}//${host}`).host;
  } catch {
    return 'a request with an unparsable Origin header is refused';
  }
  if (hostAsSeen === null || originHost !== hostAsSeen) return `a request from another origin (${originHost}) is refused`;
  return null;
}

/** Why a Host header is refused on an open loopback API, or null. */
export function hostRefusal(host: string | undefined): string | null {
  if (host === undefined) return null;
  const name = hostName(host);
  if (name === null) return 'the Host header does not parse';
  if (!isLoopbackHost(name)) return `Host ${name} is not a loopback name: this API without a token answers only localhost, 127.0.0.1 and [::1]`;
  return null;
}

export function installBrowserGuard(app: FastifyInstance, opts: { checkHost: boolean }): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host;
    const badHost = opts.checkHost ? hostRefusal(host) : null;
    if (badHost) {
      await sendError(reply, new ApiError(403, 'E_BAD_HOST', badHost));
      return reply;
    }
    const origin = request.headers.origin;
    const crossOrigin = originRefusal(Array.isArray(origin) ? origin[0] : origin, host);
    if (crossOrigin) {
      await sendError(reply, new ApiError(403, 'E_CROSS_ORIGIN', crossOrigin));
      return reply;
    }
    return undefined;
  });
}
