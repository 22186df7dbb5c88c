'use strict';
// The compiled addon; npm builds it at install time (node-gyp rebuild, g++ and Node's headers).
try {
  module.exports = require('./build/Release/bmcemu_mmap.node');
} catch (err) {
  const e = new Error(
    `the mmap addon (${__dirname}) is not built: run "npm ci" in the project, or "npx node-gyp rebuild" in ${__dirname} (needs g++, make, python3 and Node's headers)`,
  );
  e.code = 'ERR_MMAP_ADDON_MISSING';
  e.cause = err;
  throw e;
}
