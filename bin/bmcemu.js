#!/usr/bin/env node
// The installed entry point runs the compiled CLI (make build / npm run build).
import '../dist/cli/bmcemu.js';
