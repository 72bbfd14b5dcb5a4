import { describe, expect, it } from 'vitest';
import { helpText, parseArgs, type CommandSpec } from '../../../electron/cli/args.js';

const spec: CommandSpec = {
  name: 'try',
  summary: 'A test command.',
  positionals: [{ name: 'IN', required: true }, { name: 'MORE', required: false }],
  flags: {
    json: { type: 'boolean', help: 'json' },
    n: { type: 'int', min: 1, max: 10, help: 'count' },
    r: { type: 'float', min: 0, max: 1, help: 'ratio' },
    to: { type: 'enum', values: ['a', 'b'], help: 'target' },
    root: { type: 'string', repeat: true, help: 'roots' },
    seed: { type: 'int', min: -5, max: 5, help: 'seed' },
  },
};

describe('argument parser', () => {
  it('parses flags in both spellings, repeats and positionals', () => {
    const parsed = parseArgs(spec, ['x', '--n', '3', '--r=0.5', '--json', '--to', 'b', '--root', 'p', '--root=q', '--seed', '-2', '--', '--y']);
    expect(parsed.positionals).toEqual(['x', '--y']);
    expect(Object.fromEntries(parsed.flags)).toEqual({ n: 3, r: 0.5, json: true, to: 'b', root: ['p', 'q'], seed: -2 });
    expect(parsed.help).toBe(false);
  });

  const bad: [string[], string][] = [
    [['x', '--nope'], 'try: unknown flag --nope (see sparsescope try --help)'],
    [['x', '--nope=1'], 'try: unknown flag --nope'],
    [['x', '-n', '3'], 'unknown flag -n'],
    [['x', '--n'], '--n needs a value (int)'],
    [['x', '--n', '--json'], '--n needs a value'],
    [['x', '--n', 'three'], '--n: "three" is not an integer'],
    [['x', '--n', '2.5'], '--n: "2.5" is not an integer'],
    [['x', '--n', '11'], '--n: 11 is outside 1..10'],
    [['x', '--r', '1.5'], '--r: 1.5 is outside 0..1'],
    [['x', '--to', 'c'], '--to: "c" is not one of a, b'],
    [['x', '--json=yes'], '--json takes no value'],
    [['x', '--n', '1', '--n', '2'], '--n given twice'],
    [[], 'try: missing IN'],
    [['x', 'y', 'z'], 'try: unexpected argument "z"'],
  ];
  it.each(bad)('refuses %j: %s', (argv, message) => {
    expect(() => parseArgs(spec, argv)).toThrow(message);
  });

  it('answers --help even when arguments are missing, and lists every flag', () => {
    expect(parseArgs(spec, ['--help']).help).toBe(true);
    const help = helpText(spec);
    expect(help).toContain('usage: sparsescope try IN [MORE] [flags]');
    for (const name of Object.keys(spec.flags)) expect(help).toContain(`--${name}`);
    expect(help).toContain('--to a|b');
    expect(help).toContain('--root STRING ...');
  });
});
