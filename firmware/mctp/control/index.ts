/** The MCTP control protocol: codec, responder, requester. */
export * from './codec.js';
export * from './constants.js';
export * from './header.js';
export * from './parse.js';
export * from './requester.js';
export * from './responder.js';
export * from './routing-entries.js';
export * from './types.js';
export * from './uuid.js';
