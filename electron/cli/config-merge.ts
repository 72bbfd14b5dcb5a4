/** `sparsescope config merge`: configs searched in layer shards, put together (engine/config/merge.ts). */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ConfigError, MAX_CONFIG_BYTES, checkConfigTarget, exportConfig, writeConfigFile } from '../engine/config/index.js';
import { layerRanges, MERGE_FORMATS, mergeConfigs, type MergeFormat } from '../engine/config/merge.js';
import { fileErrorReason } from '../engine/fs-errors.js';
import { UsageError } from './args.js';
import type { Command } from './commands.js';

async function readInput(path: string): Promise<{ name: string; text: string }> {
  const name = basename(path);
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new ConfigError(`${name}: cannot read: ${fileErrorReason(error)}`);
  });
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(`${name}: ${text.length} bytes is too large for a head config`);
  return { name, text };
}

export const configMerge: Command = {
  spec: {
    name: 'config merge',
    summary: 'Merge head configs searched in layer shards (search --layers) into one config.',
    positionals: [{ name: 'IN', required: true, repeat: true }],
    flags: {
      out: { type: 'string', valueName: 'OUT', help: 'file to write (required)' },
      format: { type: 'enum', values: MERGE_FORMATS, help: 'output format (default: the first input\'s; duo writes a .tsv)' },
    },
    notes: [
      'A Sparsescope input (search --format sparsescope) brings the layers its search ran on; any other input brings all its layers.',
      'A layer two inputs bring must be the same in both; every input must have as many heads per layer.',
      'FlexPrefill and MInference attn_type files hold one setting for all layers: there is nothing to merge in them, and no merge writes them (config convert does).',
      'Example: sparsescope config merge part-0-15.json part-16-31.json --out model.json',
    ],
  },
  async run({ positionals, flags, io }) {
    const out = flags.get('out') as string | undefined;
    if (out === undefined) throw new UsageError('config merge: --out OUT is required');
    if (positionals.length < 2) throw new UsageError('config merge: give at least two configs to merge');
    const asked = flags.get('format') as MergeFormat | undefined;
    if (asked) await checkConfigTarget(out, asked);
    const merged = mergeConfigs(await Promise.all(positionals.map(readInput)));
    const format = asked ?? merged.format;
    const { text, warnings } = await exportConfig(merged.config, format, merged.settings ? { settings: merged.settings } : {});
    for (const warning of [...merged.warnings, ...warnings]) io.stderr.write(`sparsescope: warning: ${warning}\n`);
    await writeConfigFile(out, text, format);
    const layers = merged.config.heads.map((_, layer) => layer);
    io.stdout.write(`merged ${positionals.length} configs (layers ${layerRanges(layers)}, ${merged.config.numHeads} heads each) -> ${out} (${format})\n`);
    return 0;
  },
};
