/**
 * Loads the native addon built by `npm install` (cmake-js: native/build/Release/sparsescope.node)
 * and returns it as the typed NativeModule of native-api.ts. The engine never imports the addon
 * any other way, so tests and the CLI share this one path.
 *
 * The addon is found by walking up from this file (it runs from electron/engine/ under tsx/vitest
 * and from dist/electron/engine/ when compiled); SPARSESCOPE_NATIVE overrides the path. In a
 * packaged app this file is inside resources/app.asar and the addon in resources/app.asar.unpacked
 * (a .node file cannot be loaded from an archive), so the walk starts from the unpacked twin.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NativeModule } from './native-api.js';
import { withOpTimes } from './op-times.js';

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'sparsescope.node');
const EXPORTED_FUNCTIONS = ['deviceInfo', 'denseAttention', 'pooledMap', 'buildIndex', 'sparseAttention', 'recall', 'outputError'] as const;

let loaded: NativeModule | undefined;

/** The same path with its app.asar folder replaced by app.asar.unpacked (unchanged outside a packaged app). */
export function unpackedTwin(path: string): string {
  return path.replace(/([\\/])app\.asar(?=[\\/]|$)/, '$1app.asar.unpacked');
}

/** Where the addon is (or would be): the override, else the first build found above this file. */
export function nativeAddonPath(): string {
  const override = process.env['SPARSESCOPE_NATIVE'];
  if (override) return resolve(override);
  const start = unpackedTwin(dirname(fileURLToPath(import.meta.url)));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return join(start, '..', '..', ADDON_RELATIVE_PATH);
  }
}

/** The native module (loaded once). Throws an Error saying how to build it when it is missing. */
export function loadNative(): NativeModule {
  if (loaded) return loaded;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new Error(`native module not built: ${path} is missing; run \`npm install\` (or \`npm run install\`) to build it with cmake-js`);
  }
  let addon: Record<string, unknown>;
  try {
    addon = createRequire(import.meta.url)(path) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`native module at ${path} failed to load: ${(error as Error).message}; rebuild it with \`npm run install\``);
  }
  const missing = EXPORTED_FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`native module at ${path} is out of date (missing ${missing.join(', ')}); rebuild it with \`npm run install\``);
  }
  loaded = withOpTimes(addon) as unknown as NativeModule;
  return loaded;
}
