/**
 * Entry of a compute worker process: a Node child (child_process.fork, `process.send`) or an
 * Electron utility process (`process.parentPort`). It wires the real native module, captures and
 * analysis functions into the worker runtime; all the logic lives in worker-runtime.ts.
 */
import { openCapture, writeCapture } from '../capture/capture.js';
import { analyzeCapture } from '../analysis/analyze.js';
import { benchCapture } from '../analysis/bench.js';
import { budgetCurve, evaluateHead, maskGeometry, pooledMap } from '../analysis/head.js';
import { kernelBlocks } from '../analysis/kernel-blocks.js';
import { outputError } from '../analysis/output-error.js';
import { searchCapture } from '../analysis/search.js';
import { loadNative } from '../native.js';
import { generateSynthetic } from '../synthetic/generator.js';
import type { FromWorker } from './protocol.js';
import { createWorkerRuntime, type OpImplementations } from './worker-runtime.js';

const ops: OpImplementations = {
  deviceInfo: async (_params, { native }) => native().deviceInfo(),
  writeDemo: async ({ path, ...shape }) => {
    const { metadata, tensors } = generateSynthetic(shape);
    await writeCapture(path, metadata, tensors);
    return { path };
  },
  pooledMap: (params, { native, capture, control }) => pooledMap(native(), capture(), params, control),
  mask: (params, { native, capture, control, headCache }) => maskGeometry(native(), capture(), params, control, headCache()),
  evaluate: (params, { native, capture, control, headCache }) => evaluateHead(native(), capture(), params, control, headCache()),
  budgetCurve: (params, { native, capture, control }) => budgetCurve(native(), capture(), params, control),
  kernelBlocks: (params, { native, capture, control, headCache }) => kernelBlocks(native(), capture(), params, control, headCache()),
  outputError: (params, { native, capture, control, headCache }) => outputError(native(), capture(), params, control, headCache()),
  analyze: (params, { native, capture, control, onProgress }) => analyzeCapture(native(), capture(), params, onProgress, control),
  search: ({ settings, backend, heads }, { native, capture, control, onProgress }) => searchCapture(native(), capture(), settings, backend, onProgress, control, heads),
  // Without a capture, bench runs its synthetic sweep.
  bench: (params, { native, captureIfAny, control, onProgress }) => benchCapture(native(), captureIfAny(), params, onProgress, control),
};

interface ElectronParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;

function connect(): { post: (message: FromWorker) => void; listen: (handle: (message: unknown) => void) => void } {
  if (parentPort) {
    return { post: (message) => parentPort.postMessage(message), listen: (handle) => parentPort.on('message', (event) => handle(event.data)) };
  }
  if (process.send) {
    // The host went away: nothing will ever read our answers.
    process.on('disconnect', () => process.exit(0));
    return { post: (message) => process.send!(message), listen: (handle) => process.on('message', handle) };
  }
  process.stderr.write('sparsescope worker: started without a parent process; the engine starts this file itself\n');
  process.exit(2);
}

const { post, listen } = connect();
const runtime = createWorkerRuntime({ loadNative, openCapture, ops }, post);
listen((message) => runtime.handle(message));
