/**
 * Types of the status API (/api/v1) that the page relies on by name. The
 * full shapes are in the server's OpenAPI document (/api/v1/openapi.json,
 * shown at /api/v1/docs); the model modules read every response as `unknown`
 * through coerce.ts anyway, because the page must not break on a server that
 * is older, newer or simply wrong.
 */

/** The host power actions POST /host/power takes. */
export type PowerAction = 'on' | 'off' | 'soft-off' | 'reset' | 'cycle';
