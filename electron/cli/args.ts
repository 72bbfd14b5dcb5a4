/**
 * A small command-line parser: `--name value`, `--name=value`, boolean `--name`, repeatable flags,
 * `--` to end flags. Every mistake is a UsageError whose message names the flag and the problem.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = { help: string; valueName?: string } & (
  | { type: 'boolean' }
  | { type: 'string'; repeat?: boolean }
  | { type: 'int'; min: number; max: number; repeat?: boolean }
  | { type: 'float'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] }
);

export interface CommandSpec {
  /** e.g. "info" or "config convert". */
  name: string;
  summary: string;
  /** Positional arguments, in order; optional ones come last; a `repeat` one (the last) takes every argument left. */
  positionals: { name: string; required: boolean; repeat?: boolean }[];
  flags: Record<string, FlagSpec>;
  /** Extra lines after the flags (examples, notes). */
  notes?: string[];
}

export type FlagValue = string | number | boolean | string[] | number[];

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, FlagValue>;
  help: boolean;
}

function parseNumber(spec: Extract<FlagSpec, { type: 'int' | 'float' }>, flag: string, text: string): number {
  const value = Number(text);
  const valid = text.trim() !== '' && Number.isFinite(value) && (spec.type === 'float' || Number.isInteger(value));
  if (!valid) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not ${spec.type === 'int' ? 'an integer' : 'a number'}`);
  if (value < spec.min || value > spec.max) throw new UsageError(`--${flag}: ${value} is outside ${spec.min}..${spec.max}`);
  return value;
}

function convert(spec: FlagSpec, flag: string, text: string): string | number {
  switch (spec.type) {
    case 'int':
    case 'float':
      return parseNumber(spec, flag, text);
    case 'enum':
      if (!spec.values.includes(text)) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not one of ${spec.values.join(', ')}`);
      return text;
    default:
      return text;
  }
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, FlagValue>();
  let help = false;
  let flagsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (flagsEnded || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      flagsEnded = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals < 0 ? undefined : equals);
    const flag = spec.flags[name];
    if (!arg.startsWith('--') || !flag) throw new UsageError(`${spec.name}: unknown flag ${equals < 0 ? arg : arg.slice(0, equals)} (see sparsescope ${spec.name} --help)`);
    if (flag.type === 'boolean') {
      if (equals >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let text: string;
    if (equals >= 0) text = arg.slice(equals + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${name} needs a value (${flag.valueName ?? flag.type})`);
      text = next;
      i++;
    }
    const value = convert(flag, name, text);
    if ('repeat' in flag && flag.repeat) flags.set(name, [...((flags.get(name) as (string | number)[] | undefined) ?? []), value] as FlagValue);
    else if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    else flags.set(name, value);
  }
  if (!help) {
    const required = spec.positionals.filter((p) => p.required).length;
    if (positionals.length < required) throw new UsageError(`${spec.name}: missing ${spec.positionals[positionals.length]?.name} (see sparsescope ${spec.name} --help)`);
    if (positionals.length > spec.positionals.length && !spec.positionals.at(-1)?.repeat) throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(positionals[spec.positionals.length])}`);
  }
  return { positionals, flags, help };
}

export function helpText(spec: CommandSpec): string {
  const positionals = spec.positionals.map((p) => `${p.required ? p.name : `[${p.name}]`}${p.repeat ? ' ...' : ''}`).join(' ');
  const rows = Object.entries(spec.flags).map(([name, flag]) => {
    const value = flag.type === 'boolean' ? '' : ` ${flag.valueName ?? (flag.type === 'enum' ? flag.values.join('|') : flag.type.toUpperCase())}`;
    return [`--${name}${value}${'repeat' in flag && flag.repeat ? ' ...' : ''}`, flag.help] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return [
    `usage: sparsescope ${spec.name}${positionals ? ` ${positionals}` : ''}${rows.length ? ' [flags]' : ''}`,
    '',
    spec.summary,
    ...(rows.length ? ['', 'flags:', ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)] : []),
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    '',
  ].join('\n');
}
