/** The MCTP core's public surface. */
export * from './binding.js';
export * from '../../lib/clock.js';
export * from './constants.js';
export * from './counters.js';
export * from './errors.js';
export * from './fragment.js';
export * from './header.js';
export * from './interface.js';
export * from './loopback/binding.js';
export * from './pcap.js';
export * from './routes.js';
export * from './sockaddr.js';
export * from './socket-host.js';
export * from './socket.js';
export * from './stack.js';
