// The layering check (`make layering`, `npm run layering`): dependency-cruiser
// fails the build when an import points up a floor, when the production tree
// has an import cycle, or when production code reaches into test/ or a
// devDependency. docs/architecture.md explains the floors; this file is their
// executable form, one rule per floor with the reason it is drawn where it is.
//
// Paths are matched relative to the directory depcruise runs in (the repo root;
// test/layering.test.ts runs the same file on throw-away fixture trees).
'use strict';

const path = require('node:path');

/** Protocol stacks: each its own folder under firmware/. Rooms that have no code yet are listed so the rules hold the day they do. */
const PROTOCOLS = ['mctp', 'ipmi', 'hiomap', 'pldm', 'spdm', 'cxl'];

/** Every floor, bottom to top, as a path regex. */
const F = {
  lib: '^lib/',
  transport: '^transport/',
  hwModels: '^hw-models/',
  drivers: '^firmware/drivers/',
  protocols: `^firmware/(${PROTOCOLS.join('|')})/`,
  services: '^firmware/services/',
  bmc: '^firmware/bmc/',
  host: '^host/',
  images: '^images/',
  qemu: '^qemu/',
  instance: '^instance/',
  cli: '^cli/',
  bench: '^bench/',
  test: '^test/',
  web: '^web/',
};
const proto = (name) => `^firmware/${name}/`;
const anyOf = (...regexes) => regexes.join('|');

/** Every floor below (and including) the composition floors firmware/bmc and host. */
const BELOW_IMAGES = [F.lib, F.transport, F.hwModels, F.drivers, F.protocols, F.services, F.bmc, F.host];

/** The code that ships: everything but the tests and the benchmarks. */
const PRODUCTION_NOT = anyOf(F.test, F.bench);

/**
 * One rule per floor: a module on that floor may import local modules only
 * from the listed floors (node core modules and npm packages are governed by
 * the rules further down). `why` becomes the rule's comment, which
 * `depcruise --output-type err-long` prints next to each violation.
 */
const FLOORS = [
  {
    name: 'lib',
    from: F.lib,
    mayImport: [F.lib],
    why: 'lib/ is the ground floor (clock, waits, coded errors, pid files, project dir): everything may use it, so it may use nothing of the project.',
  },
  {
    name: 'transport',
    from: F.transport,
    mayImport: [F.lib, F.transport],
    why: 'transport/ moves bytes (byte links, chardev sockets, the window file, the KCS-wire codec and client, the serial device); it knows no device model and no protocol, so both sides of a wire can use it.',
  },
  {
    name: 'hw-models',
    from: F.hwModels,
    mayImport: [F.lib, F.transport, F.hwModels],
    why: 'hw-models/ are register-exact AST2500 devices; they know nothing of drivers, MCTP or IPMI. Only hw-models/wire-servers/ uses transport/, to attach a model\'s host side to a wire.',
  },
  {
    name: 'drivers',
    from: F.drivers,
    mayImport: [F.lib, F.transport, F.hwModels, F.drivers],
    why: 'firmware/drivers/ play the Linux drivers (raw-kcs, aspeed-lpc-ctrl, vuart-tty): the only firmware that touches models, so everything above sees /dev-like interfaces.',
  },
  {
    name: 'mctp',
    from: proto('mctp'),
    mayImport: [F.lib, proto('mctp')],
    why: 'The MCTP stack is pure protocol: bindings reach their medium only through their own ports (e.g. firmware/mctp/astlpc/ports.ts), which the BMC adapts to drivers and the host to transport/, so the same code runs on both sides and under test fakes. It uses no other stack.',
  },
  {
    name: 'ipmi',
    from: proto('ipmi'),
    mayImport: [F.lib, F.transport, proto('ipmi')],
    why: 'The IPMI stack (VM-protocol transport, router, commands, storage) may run its VM-protocol framing over a transport/ byte link, but never touches models or drivers, and uses no other stack.',
  },
  {
    name: 'hiomap',
    from: proto('hiomap'),
    mayImport: [F.lib, proto('ipmi'), proto('hiomap')],
    why: 'HIOMAP is carried by IPMI, so it may use firmware/ipmi/; the LPC window it moves is reached through a port the composition adapts to the aspeed-lpc-ctrl driver.',
  },
  ...['pldm', 'spdm', 'cxl'].map((name) => ({
    name,
    from: proto(name),
    mayImport: [F.lib, proto('mctp'), proto(name)],
    why: `${name.toUpperCase()} is carried by MCTP: it may use firmware/mctp/ (its sockets) and lib/, nothing else.`,
  })),
  {
    name: 'services',
    from: F.services,
    mayImport: [F.lib, F.transport, F.protocols, F.services],
    why: 'firmware/services/ are the BMC daemons (bus owner, console, API, ipmid-like): they speak protocols and get any device through an interface firmware/bmc hands them, never a model or a driver directly, so each is testable alone.',
  },
  {
    name: 'bmc',
    from: F.bmc,
    mayImport: [F.lib, F.transport, F.hwModels, F.drivers, F.protocols, F.services, F.bmc],
    why: 'firmware/bmc/ composes the BMC (drivers + stacks + services on a SoC). It never imports host/: the BMC and the host meet only on the wires.',
  },
  {
    name: 'host',
    from: F.host,
    mayImport: [F.lib, F.transport, F.protocols, F.host],
    why: 'host/ is the host side (host agent, guest device discovery): it may use protocol stacks and transport/, never hw-models/, drivers, BMC services or firmware/bmc — a real host has none of those.',
  },
  {
    name: 'images',
    from: F.images,
    mayImport: [...BELOW_IMAGES, F.images],
    why: 'images/ builds the guest images; it may name what runs in them, but nothing below imports an image.',
  },
  {
    name: 'qemu',
    from: F.qemu,
    mayImport: [...BELOW_IMAGES, F.images, F.qemu],
    why: 'qemu/ (machine definitions, command line, QMP, power) uses images and the wire names of the floors below; nothing below starts QEMU.',
  },
  {
    name: 'instance',
    from: F.instance,
    mayImport: [...BELOW_IMAGES, F.images, F.qemu, F.instance],
    why: 'instance/ is the composition root (one BMC, its QEMU host, its API); only cli/ and bench/ sit above it.',
  },
  {
    name: 'cli',
    from: F.cli,
    mayImport: [...BELOW_IMAGES, F.images, F.qemu, F.instance, F.cli],
    why: 'cli/ is the top of the production tree; it never imports tests, benchmarks or the browser code.',
  },
  {
    name: 'bench',
    from: F.bench,
    mayImport: [...BELOW_IMAGES, F.images, F.qemu, F.instance, F.bench, F.test, F.web],
    why: 'bench/ may measure anything but the CLI: it drives the code, not the command line, so a benchmark never depends on how a command prints.',
  },
  {
    name: 'web',
    from: F.web,
    mayImport: [F.web],
    why: 'web/ is browser code compiled on its own (web/tsconfig.json): it talks to the BMC over HTTP only, so it may import nothing of the Node tree.',
  },
];

const floorRules = FLOORS.map(({ name, from, mayImport, why }) => ({
  name: `floor-${name}`,
  comment: why,
  severity: 'error',
  from: { path: from },
  to: { dependencyTypes: ['local'], pathNot: anyOf(...mayImport) },
}));

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: 'no-cycles-in-production',
      comment:
        'An import cycle means two modules are one: neither can be understood, tested or moved alone, and module initialisation order starts to matter. Type-only imports count too — a type cycle is the same design knot. Tests and benchmarks are exempt.',
      severity: 'error',
      from: { pathNot: PRODUCTION_NOT },
      to: { circular: true },
    },
    {
      name: 'production-imports-no-test',
      comment: 'Production code must not depend on test helpers or fixtures: they are not built into dist/ and are not shipped.',
      severity: 'error',
      from: { pathNot: PRODUCTION_NOT },
      to: { path: F.test },
    },
    {
      name: 'production-imports-no-dev-dependency',
      comment:
        'devDependencies (tap, playwright-core, typescript, ...) are absent from a production install (npm ci --omit=dev); production code that needs a package lists it under dependencies.',
      severity: 'error',
      from: { pathNot: PRODUCTION_NOT },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-unlisted-packages',
      comment: 'A package must be listed in package.json (dependencies, or devDependencies for tests and benchmarks); an unlisted one works only by accident of the install.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'web-imports-no-node-builtins',
      comment: 'web/ runs in the browser: node: built-ins do not exist there.',
      severity: 'error',
      from: { path: F.web },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-module-outside-a-floor',
      comment:
        'Every module lives on a floor listed in this file; one that does not (a new top-level folder, a new room under firmware/) would escape every floor rule, so it gets its floor here (and in docs/architecture.md) first.',
      severity: 'error',
      from: { pathNot: anyOf(...Object.values(F)) },
      to: {},
    },
    {
      name: 'no-unknown-firmware-room',
      comment:
        'firmware/ holds drivers/, the protocol stacks, services/ and bmc/ only: a new room gets its floor in this file (and in docs/architecture.md) before it gets code, or it would escape every rule above.',
      severity: 'error',
      from: {},
      to: { path: '^firmware/', pathNot: anyOf(F.drivers, F.protocols, F.services, F.bmc) },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'Every import must resolve: an unresolved relative import would escape every rule above (a cruiser that resolves nothing passes vacuously).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // Type-only imports are dependencies too: an upward `import type` couples the floors all the same.
    tsPreCompilationDeps: true,
    // Resolve as tsc does (NodeNext): a `./x.js` specifier names `./x.ts`.
    tsConfig: { fileName: path.join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
