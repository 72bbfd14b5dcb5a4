/**
 * Mutations of JSON documents for the fuzzers: a value anywhere in the document replaced by an odd
 * one (negative, huge, path traversal, NUL, 5000 characters, bad `$f32` tags, random JSON), a key
 * or element dropped, or one added.
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(-1, 0, 0.5, 7, 4096, 1e308, -1e308, 2 ** 31, 2 ** 53, '', '..', '../../../etc/passwd', '/etc/passwd', 'C:\\\\x', '\u0000', 'x'.repeat(5000), null, true, [], {}),
  fc.constantFrom<Json>({ $f32: 'AAAA' }, { $f32: '*!*' }, { $f32: 'AAA' }, { $f32: 12 }, { mode: 'exact' }, { mode: 'sampled', rows: 1 << 20 }, { pattern: 'dense', a: 0, b: 0 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

type Path = (string | number)[];

/** Every path into a JSON value, the root included. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : value && typeof value === 'object' ? Object.entries(value) : [];
  return [prefix, ...children.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

export interface Mutation {
  op: 'replace' | 'delete' | 'add';
  /** Picks a path, wrapped. */
  at: number;
  value: Json;
}

export function mutate(seed: Json, mutation: Mutation): Json {
  const root = JSON.parse(JSON.stringify(seed)) as Json;
  const paths = pathsOf(root);
  const path = paths[mutation.at % paths.length]!;
  if (path.length === 0) return mutation.op === 'replace' ? mutation.value : root;
  const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<string, Json>)[key]!, root) as Record<string | number, Json>;
  const key = path.at(-1)!;
  if (mutation.op === 'replace') parent[key] = mutation.value;
  else if (mutation.op === 'delete') Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key];
  else if (Array.isArray(parent)) parent.push(mutation.value);
  else parent[`${String(key)}_extra`] = mutation.value;
  return root;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({ op: fc.constantFrom('replace', 'delete', 'add'), at: fc.nat(), value: oddValue });
