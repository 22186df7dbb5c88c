/**
 * The bearer token from the login cookie. Off loopback the server takes the
 * cookie for GETs and websocket upgrades, but POSTs need the token in an
 * Authorization header, which only script can add: so script reads it here.
 *
 * DOM-free (takes the cookie string): also compiled and unit-tested under Node.
 */

export const TOKEN_COOKIE = 'bmcemu_token';

/** The URI-decoded value of cookie `name` in a `document.cookie` string, or null. */
export function cookieValue(cookies: string, name: string = TOKEN_COOKIE): string | null {
  if (typeof cookies !== 'string') return null;
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw; // not valid %-encoding: the raw text is the best guess
    }
    // fetch() throws on a header value outside visible ASCII; an empty token is no token.
    return /^[\x21-\x7e]+$/.test(value) ? value : null;
  }
  return null;
}
