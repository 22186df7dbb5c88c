/**
 * Where the page talks to the API, and the header that marks its own
 * requests. Every URL the page uses is built here from API_BASE, so moving the
 * API (or mounting the page under a sub-path) is a change in one place.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */

/** The API's root. Absolute: the page is served from the same origin, at /dashboard/. */
export const API_BASE = '/api/v1';

/**
 * The header every non-GET request from the page carries. A browser sends a
 * custom header cross-origin only after a CORS preflight, which the server
 * never grants, so its presence proves the request came from a same-origin
 * script: the server's CSRF defence for the cookie-authenticated page.
 */
export const DASHBOARD_HEADER = 'x-bmcemu-dashboard';
export const DASHBOARD_HEADER_VALUE = '1';

const api = (path: string): string => `${API_BASE}${path}`;

export const API_PATHS = Object.freeze({
  status: api('/status'),
  power: api('/host/power'),
  links: api('/mctp/links'),
  endpoints: api('/mctp/endpoints'),
  astlpc: api('/mctp/astlpc'),
  events: api('/events'),
  consoleWs: api('/console/ws'),
  consoleLog: api('/console/log'),
});
