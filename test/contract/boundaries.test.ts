/**
 * Import boundaries (spec section 6, issue 10): which runtime each folder may use. The contract is
 * plain TypeScript (zod only); the engine, CLI and serve are plain Node and never load `electron`;
 * the renderer is a browser page (no Node builtin, no main-side code); the preload is a sandboxed
 * script that can load `electron` and nothing else. Type-only imports vanish at compile time and
 * are allowed. Imports are read with TypeScript's parser: static, re-exports, import() and require().
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

interface Rule {
  folder: string;
  /** Why a specifier is not allowed here, or null; `target` is the repo path a relative one resolves to. */
  refuse(specifier: string, target: string | null): string | null;
}

const inside = (target: string | null, ...folders: string[]) => target !== null && folders.some((folder) => target === folder || target.startsWith(`${folder}/`));

const plainNode = (folder: string): Rule => ({
  folder,
  refuse: (specifier, target) => (specifier === 'electron' || inside(target, 'electron/main', 'electron/preload') ? 'plain Node: never electron or the Electron shell' : null),
});

const RULES: Rule[] = [
  {
    folder: 'contract',
    refuse: (specifier, target) => (target === null ? (specifier === 'zod' ? null : 'the contract imports zod only') : inside(target, 'contract') ? null : 'the contract imports only itself'),
  },
  plainNode('electron/engine'),
  plainNode('electron/cli'),
  plainNode('electron/serve'),
  {
    folder: 'renderer/src',
    refuse: (specifier, target) => {
      if (NODE_BUILTINS.has(specifier)) return 'a browser page: no Node builtins';
      if (specifier === 'electron') return 'a browser page: no electron (the preload bridge is window.sparsescope)';
      return target === null || inside(target, 'renderer/src', 'contract') ? null : 'the renderer imports only itself and the contract';
    },
  },
  { folder: 'electron/preload', refuse: (specifier) => (specifier === 'electron' ? null : 'a sandboxed preload can load electron only') },
];

/** The run-time imports of a source file: static imports and re-exports that are not type-only, import() and require(). */
function runtimeImports(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.importClause?.namedBindings;
      const allTypes = !node.importClause?.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((element) => element.isTypeOnly);
      if (!allTypes) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** `file: specifier (why)` for each import of `text` (a file at repo path `file`) that its folder's rule refuses. */
function violations(file: string, text: string): string[] {
  const rule = RULES.filter((r) => inside(file, r.folder)).sort((x, y) => y.folder.length - x.folder.length)[0];
  if (!rule) return [];
  return runtimeImports(file, text).flatMap((specifier) => {
    const target = specifier.startsWith('.') ? relative(REPO, resolve(REPO, dirname(file), specifier)).replaceAll('\\', '/') : null;
    const why = rule.refuse(specifier, target);
    return why ? [`${file}: ${specifier} (${why})`] : [];
  });
}

function sourcesUnder(folder: string): string[] {
  return readdirSync(join(REPO, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|cts|mts)$/.test(entry.name))
    .map((entry) => relative(REPO, join(entry.parentPath, entry.name)).replaceAll('\\', '/'));
}

describe('import boundaries (issue 10)', () => {
  it('holds in every source folder', () => {
    const files = RULES.flatMap((rule) => sourcesUnder(rule.folder));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((file) => violations(file, readFileSync(join(REPO, file), 'utf8')))).toEqual([]);
  });

  it('fails when a folder imports a runtime it may not use', () => {
    expect(violations('electron/engine/x.ts', "import { app } from 'electron';")).toEqual(["electron/engine/x.ts: electron (plain Node: never electron or the Electron shell)"]);
    expect(violations('electron/engine/jobs/x.ts', "export { registerIpc } from '../../main/shell.js';")).toHaveLength(1);
    expect(violations('electron/serve/x.ts', "const e = await import('electron');")).toHaveLength(1);
    expect(violations('renderer/src/views/x.tsx', "import { readFile } from 'node:fs/promises';\nimport path from 'path';")).toHaveLength(2);
    expect(violations('renderer/src/state/x.ts', "import { openCapture } from '../../../electron/engine/capture/capture.js';")).toHaveLength(1);
    expect(violations('electron/preload/x.cts', "const path = require('node:path');")).toHaveLength(1);
    expect(violations('contract/x.ts', "import { createHash } from 'node:crypto';")).toHaveLength(1);
  });

  it('allows what the runtime has, and type-only imports', () => {
    expect(violations('electron/engine/x.ts', "import { readFile } from 'node:fs/promises';\nimport { z } from 'zod';")).toEqual([]);
    expect(violations('renderer/src/x.ts', "import { ApiError } from '../../contract/api';\nimport type { Stats } from 'node:fs';")).toEqual([]);
    expect(violations('electron/preload/x.cts', "import { contextBridge } from 'electron';\nimport type { JobEvent } from '../../contract/api.js';\nimport { type Foo } from '../../contract/api.js';")).toEqual([]);
  });
});
