#!/usr/bin/env node
// The index build of one layer of a capture under a config, batch by batch as `bench` builds it,
// for Nsight Compute: run under ncu, it shows what each index kernel of a real searched layer
// costs (at 1M tokens the whole build is 87 ms on an H100, 36x its 128K time for 8x the tokens).
// Each batch's index is built twice (a warm-up, then the profiled build); lists stay in the addon.
//   ncu --clock-control none --metrics gpu__time_duration.sum --csv node bench/gpu_profile_index.js CAPTURE CONFIG [LAYER]
// Needs dist/ built.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [capturePath, configPath, layerArg] = process.argv.slice(2);
if (!capturePath || !configPath) {
  console.error('usage: node bench/gpu_profile_index.js CAPTURE CONFIG [LAYER]');
  process.exit(2);
}
const engine = (file) => import(pathToFileURL(path.join(root, 'dist/electron/engine', file)).href);
const native = createRequire(import.meta.url)(path.resolve(process.env.SPARSESCOPE_ADDON ?? path.join(root, 'native/build/Release/sparsescope.node')));
const { openCapture } = await engine('capture/capture.js');
const { BatchReader, batchBudget, encodePatterns, layerPatterns } = await engine('analysis/common.js');
const { readConfigFile } = await engine('config/index.js');

const capture = await openCapture(capturePath);
const { config } = await readConfigFile(configPath, capture.summary);
const layer = Number(layerArg ?? capture.summary.layers[0]);
const patterns = layerPatterns(config, layer, capture.summary.numHeads);
const backend = process.env.BACKEND ?? 'cuda'; // BACKEND=cpu: a smoke test of the script
const reader = new BatchReader(capture, batchBudget(native, backend));
for await (const { batch, inputs } of reader.layer(layer)) {
  const batchPatterns = encodePatterns(patterns.slice(batch.first, batch.end));
  const families = patterns.slice(batch.first, batch.end).map((p) => p.pattern).join(',');
  for (const pass of ['warm-up', 'profiled']) {
    const { ms } = await native.buildIndex(inputs, batchPatterns, { backend, output: 'native' });
    console.error(`heads ${batch.first}-${batch.end - 1} ${pass}: ${ms.toFixed(2)} ms  [${families}]`);
  }
}
