/**
 * `sparsescope` command line (spec section 4). Exit codes: 0 success; 1 user error (bad flags,
 * bad input files, cancelled), one line on stderr starting "sparsescope: "; 2 internal error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../../contract/api.js';
import { buildLabel, type BuildInfo } from '../../contract/build-info.js';
import { isCaptureInputError } from '../engine/capture/capture.js';
import { ConfigError } from '../engine/config/index.js';
import { helpText, parseArgs, UsageError } from './args.js';
import { COMMANDS, type Command } from './commands.js';
import type { CliIo } from './io.js';

export type { CliIo } from './io.js';

const USAGE = [
  'usage: sparsescope COMMAND [ARGS] [--help]',
  '       sparsescope --version',
  '',
  'Inspect dynamic sparse attention (MInference) on captured Q/K/V.',
  '',
  'commands:',
  ...COMMANDS.map((command) => `  ${command.spec.name.padEnd(15)} ${command.spec.summary}`),
  '',
].join('\n');

const USER_ERROR_CODES = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EEXIST', 'ENOSPC', 'EROFS']);

/** Problems the user can fix get exit 1; anything else is our bug (exit 2). */
function isUserError(error: unknown): boolean {
  if (error instanceof UsageError || error instanceof ConfigError || isCaptureInputError(error)) return true;
  if (error instanceof ApiError) return error.code !== 'internal';
  if (error instanceof Error && error.message === 'cancelled') return true;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && USER_ERROR_CODES.has(code);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** dist/build-info.json, found by walking up from this file (source and dist sit at different depths); null before a build. */
function readBuildInfo(): BuildInfo | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      return JSON.parse(readFileSync(join(dir, 'dist', 'build-info.json'), 'utf8')) as BuildInfo;
    } catch {
      // not built here: keep walking up
    }
    if (dirname(dir) === dir) return null;
  }
}

/** The command named by the first one or two words of argv, and the arguments after them. */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  for (const command of COMMANDS) {
    const words = command.spec.name.split(' ');
    if (words.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(words.length) };
  }
  return null;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (argv[0] === '--version') {
    const info = readBuildInfo();
    if (!info) {
      io.stderr.write('sparsescope: dist/build-info.json is missing; run `npm run build`\n');
      return 1;
    }
    io.stdout.write(`${buildLabel(info)}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((command) => command.spec.name.startsWith(`${argv[0]} `));
    const hint = group.length > 0 ? ` (did you mean ${group.map((command) => command.spec.name).join(', ')}?)` : ' (see sparsescope --help)';
    io.stderr.write(`sparsescope: unknown command ${JSON.stringify(argv.slice(0, group.length > 0 ? 2 : 1).join(' '))}${hint}\n`);
    return 1;
  }
  const { command, rest } = found;
  try {
    const { positionals, flags, help } = parseArgs(command.spec, rest);
    if (help) {
      io.stdout.write(helpText(command.spec));
      return 0;
    }
    return await command.run({ positionals, flags, io });
  } catch (error) {
    const message = oneLine(error instanceof Error ? error.message : String(error));
    if (isUserError(error)) {
      io.stderr.write(`sparsescope: ${message}\n`);
      return 1;
    }
    io.stderr.write(`sparsescope: internal error: ${message}\n`);
    if (process.env.SPARSESCOPE_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 2;
  }
}
