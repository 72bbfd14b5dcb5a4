import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError, type SearchResult } from '../../../contract/api.js';
import { headKey } from '../../../renderer/src/state/config';
import { hasUnsavedEdits } from '../../../renderer/src/state/session';
import { createAppStore, FIRST_SCREEN_SEARCH, type AppStore } from '../../../renderer/src/state/store';
import { FAKE_CAPTURE, FAKE_SAMPLE, FakeApi, fakeRecall } from '../fake-api.js';

/** Let queued microtasks (fake engine replies and job events) run. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('app store', () => {
  let api: FakeApi;
  let store: AppStore;

  beforeEach(async () => {
    api = new FakeApi();
    store = createAppStore(api);
    await store.getState().init();
    await settle();
  });

  it('opens the demo on start, focuses its first head and analyzes it with the default config', async () => {
    const state = store.getState();
    expect(state.capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    expect(state.device?.cpu.model).toBe('Fake CPU');
    expect(state.focus).toEqual({ layer: 0, head: 0 });
    expect(state.config?.heads[2]?.[3]).toEqual({ pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 });
    const analyze = api.lastJobId('analyze');
    expect(store.getState().jobs.analyze?.state).toBe('running');
    api.finishJob(analyze);
    const stats = store.getState().stats;
    expect(Object.keys(stats)).toHaveLength(FAKE_CAPTURE.layers.length * FAKE_CAPTURE.numHeads);
    expect(stats[headKey(1, 2)]?.recall).toBeCloseTo(fakeRecall(1, 2, { pattern: 'vertical_and_slash', a: 1000, b: 6096 }), 12);
  });

  it('applies a pattern to a selection, re-measures those heads, and undoes and redoes the edit', async () => {
    api.finishJob(api.lastJobId('analyze'));
    const keys = [headKey(0, 1), headKey(2, 3)];
    store.getState().setPatterns(keys, { pattern: 'stream_llm', a: 64, b: 512 }, 'A-shape');
    expect(store.getState().config?.heads[0]?.[1]).toEqual({ pattern: 'stream_llm', a: 64, b: 512 });
    expect(store.getState().tunedKeys.sort()).toEqual(keys.sort());
    await settle();
    expect(store.getState().stats[headKey(2, 3)]?.recall).toBeCloseTo(fakeRecall(2, 3, { pattern: 'stream_llm', a: 64, b: 512 }), 12);

    store.getState().undo();
    expect(store.getState().config?.heads[0]?.[1]).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
    // Back to the loaded config: no longer tuned, so a search may replace it without asking.
    expect(store.getState().tunedKeys).toEqual([]);
    expect(store.getState().redoStack).toHaveLength(1);
    store.getState().redo();
    expect(store.getState().config?.heads[2]?.[3]).toEqual({ pattern: 'stream_llm', a: 64, b: 512 });
    expect(store.getState().undoStack).toHaveLength(1);
  });

  it('ignores a late evaluation for a pattern the head no longer has', async () => {
    const stale = await api.call('head.evaluate', { captureId: 'cap-1', layer: 0, head: 0, pattern: { pattern: 'dense', a: 0, b: 0 } });
    store.getState().recordEvaluation(stale);
    expect(store.getState().stats[headKey(0, 0)]).toBeUndefined();
  });

  it('keeps a measured speedup when the head view evaluates the same pattern (a prediction)', async () => {
    api.finishJob(api.lastJobId('analyze'));
    const measured = store.getState().stats[headKey(0, 0)]!;
    expect(measured.speedupKind).toBe('measured');
    const predicted = await api.call('head.evaluate', { captureId: FAKE_CAPTURE.captureId, layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a: 1000, b: 6096 } });
    store.getState().recordEvaluation(predicted);
    expect(store.getState().stats[headKey(0, 0)]).toBe(measured);
    // A tuned head has only the prediction for its new pattern.
    store.getState().setPatterns([headKey(0, 0)], { pattern: 'stream_llm', a: 64, b: 512 }, 'A-shape');
    await settle();
    expect(store.getState().stats[headKey(0, 0)]?.speedupKind).toBe('predicted');
  });

  it('asks before a search replaces hand-tuned heads, and keeps them when told to', async () => {
    store.getState().setPatterns([headKey(1, 0)], { pattern: 'dense', a: 0, b: 0 }, 'dense');
    await settle();
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } });
    api.finishJob(api.lastJobId('search'));
    const pending = store.getState().pendingSearch;
    expect(pending?.tunedKeys).toEqual([headKey(1, 0)]);
    expect(store.getState().config?.heads[1]?.[0]?.pattern).toBe('dense');

    store.getState().resolvePendingSearch('keep-tuned');
    const state = store.getState();
    expect(state.pendingSearch).toBeNull();
    expect(state.config?.heads[1]?.[0]?.pattern).toBe('dense');
    expect(state.config?.heads[1]?.[1]).toMatchObject({ pattern: 'stream_llm', a: 100, b: 800 });
    expect(state.searched?.config.heads[1]?.[0]?.pattern).toBe('vertical_and_slash');
    expect(state.stats[headKey(1, 1)]?.pattern).toBe('stream_llm');
  });

  it('overwrites tuned heads only after the user chooses so', async () => {
    store.getState().setPatterns([headKey(0, 0)], { pattern: 'dense', a: 0, b: 0 }, 'dense');
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } });
    api.finishJob(api.lastJobId('search'));
    store.getState().resolvePendingSearch('overwrite');
    expect(store.getState().config?.heads[0]?.[0]?.pattern).toBe('vertical_and_slash');
    expect(store.getState().tunedKeys).toEqual([]);
  });

  it('applies a search directly when nothing was tuned', async () => {
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } });
    api.finishJob(api.lastJobId('search'));
    expect(store.getState().pendingSearch).toBeNull();
    expect(store.getState().config?.heads[0]?.[1]?.pattern).toBe('stream_llm');
  });

  it("shows a report's notices and warnings, such as auto running on the CPU", async () => {
    const analyze = api.lastJobId('analyze');
    const report = api.resultFor({ kind: 'analyze', captureId: 'cap-1', config: store.getState().config! }) as object;
    const notice = 'CUDA cannot run head_dim 80 (supported: 64, 96, 128); using the CPU';
    const warning = 'a 2048-token capture runs dense in SGLang/vLLM (sparse_attention_threshold 32768)';
    api.finishJob(analyze, { ...report, notices: [notice], warnings: [warning] });
    const shown = store.getState().notices.map((n) => [n.level, n.message]);
    expect(shown).toContainEqual(['info', notice]);
    expect(shown).toContainEqual(['info', warning]);
  });

  it('keeps the config and says why when a job fails, and ignores events of other jobs', async () => {
    const before = store.getState().config;
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } });
    const jobId = api.lastJobId('search');
    api.emit({ jobId: 'someone-else', kind: 'search', state: 'done', progress: 1, message: '', etaSeconds: 0, result: api.resultFor({ kind: 'search', captureId: 'x', settings: { mode: 'candidates' } }) });
    expect(store.getState().searched).toBeNull();
    api.failJob(jobId, 'worker crashed');
    expect(store.getState().config).toBe(before);
    expect(store.getState().jobs.search?.state).toBe('failed');
    expect(store.getState().notices.at(-1)?.message).toMatch(/search job failed: worker crashed/);
  });

  it('catches up after the event socket reconnects: a job that finished meanwhile ends done with its result', async () => {
    await store.getState().startJob({ kind: 'bench', captureId: 'cap-1', config: store.getState().config! });
    await settle();
    expect(store.getState().jobs.bench?.state).toBe('running');
    const listed = () => api.calls.filter((call) => call.method === 'job.list').length;
    const listedBefore = listed();
    api.disconnect();
    expect(store.getState().connection).toBe('reconnecting');
    const benchJob = api.lastJobId('bench');
    api.finishJob(benchJob);
    expect(store.getState().jobs.bench?.state).toBe('running');
    api.reconnect();
    expect(store.getState().connection).toBe('connected');
    await settle();
    expect(store.getState().jobs.bench).toMatchObject({ jobId: benchJob, state: 'done' });
    expect(store.getState().bench?.sweep.map((point) => point.seqLen)).toEqual([1024, 2048]);
    expect(store.getState().bench?.sweep[0]).toMatchObject({ device: 'Fake CPU (CPU, 2 threads)', dtype: 'BF16' });
    expect(listed()).toBe(listedBefore + 1);
  });

  it('applies only tracked jobs from a catch-up, and never winds a job back to an older state', async () => {
    const analyze = api.lastJobId('analyze');
    api.emit({ jobId: 'someone-else', kind: 'search', state: 'done', progress: 1, message: '', etaSeconds: 0, result: api.resultFor({ kind: 'search', captureId: 'x', settings: { mode: 'candidates' } }) });
    api.emit({ jobId: analyze, kind: 'analyze', state: 'running', progress: 0.6, message: 'layer 2', etaSeconds: 1 });
    api.emit({ jobId: analyze, kind: 'analyze', state: 'running', progress: 0.9, message: 'layer 3', etaSeconds: 1 });
    const shown = store.getState().jobs.analyze;
    api.disconnect();
    api.emit({ jobId: analyze, kind: 'analyze', state: 'running', progress: 0.3, message: 'an older listing', etaSeconds: 1 });
    api.reconnect();
    await settle();
    expect(store.getState().jobs.analyze).toBe(shown);
    expect(store.getState().jobs.search).toBeUndefined();
    expect(store.getState().searched).toBeNull();
  });

  it('refuses a second job of a kind while one runs, and cancels through the engine', async () => {
    await store.getState().startJob({ kind: 'bench', captureId: 'cap-1' });
    await settle();
    await store.getState().startJob({ kind: 'bench', captureId: 'cap-1' });
    expect([...api.jobs.values()].filter((s) => s.kind === 'bench')).toHaveLength(1);
    expect(store.getState().notices.at(-1)?.message).toMatch(/already running/);
    await store.getState().cancelJob('bench');
    await settle();
    expect(store.getState().jobs.bench?.state).toBe('cancelled');
  });

  it('sets aside a result that arrives after another capture was opened', async () => {
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } });
    const searchJob = api.lastJobId('search');
    await store.getState().openCapture('/data/other.safetensors');
    await settle();
    api.finishJob(searchJob);
    expect(store.getState().capture?.captureId).toBe('cap-/data/other.safetensors');
    expect(store.getState().searched).toBeNull();
    expect(store.getState().config?.heads[0]?.[1]?.pattern).toBe('vertical_and_slash');
    expect(store.getState().notices.at(-1)?.message).toMatch(/no longer open; its result was set aside/);
  });

  it('changes only the heads a one-layer search measured', async () => {
    await store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates', layers: [2] } });
    const jobId = api.lastJobId('search');
    const full = api.resultFor(api.jobs.get(jobId)!) as SearchResult;
    api.finishJob(jobId, { ...full, report: { ...full.report, heads: full.report.heads.filter((h) => h.layer === 2) } });
    expect(store.getState().config?.heads[2]?.[1]?.pattern).toBe('stream_llm');
    expect(store.getState().config?.heads[0]?.[1]?.pattern).toBe('vertical_and_slash');
  });

  it('keeps an analysis from overwriting the numbers of a head edited while it ran', async () => {
    const analyze = api.lastJobId('analyze');
    store.getState().setPatterns([headKey(0, 0)], { pattern: 'dense', a: 0, b: 0 }, 'dense');
    await settle();
    api.finishJob(analyze);
    expect(store.getState().stats[headKey(0, 0)]?.pattern).toBe('dense');
    expect(store.getState().stats[headKey(0, 1)]?.pattern).toBe('vertical_and_slash');
  });

  it('stores a benchmark result', async () => {
    const config = store.getState().config!;
    await store.getState().startJob({ kind: 'bench', captureId: 'cap-1', config, sweep: [1024, 2048] });
    api.finishJob(api.lastJobId('bench'));
    expect(store.getState().bench?.sweep.map((p) => p.seqLen)).toEqual([1024, 2048]);
    expect(store.getState().bench?.report?.device).toBe('Fake CPU');
  });

  it('fills heads an imported config leaves out with MInference\'s default, and says so', async () => {
    const heads = [[{ pattern: 'dense', a: 0, b: 0 }]];
    await store.getState().importConfig({ text: JSON.stringify(heads), fileName: 'small.json' });
    const config = store.getState().config!;
    expect([config.numLayers, config.numHeads]).toEqual([FAKE_CAPTURE.numLayers, FAKE_CAPTURE.numHeads]);
    expect(config.heads[0]![0]!.pattern).toBe('dense');
    expect(config.heads[0]![1]).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
    const defaulted = FAKE_CAPTURE.numLayers * FAKE_CAPTURE.numHeads - 1;
    expect(store.getState().notices.map((n) => n.message)).toContain(`${defaulted} heads the config leaves out use MInference's default (vertical_and_slash 1000/6096).`);
  });

  it('rejects an imported config with more heads than the capture, with a readable notice, keeping the current config', async () => {
    const before = store.getState().config;
    const heads = [Array.from({ length: FAKE_CAPTURE.numHeads + 1 }, () => ({ pattern: 'dense', a: 0, b: 0 }))];
    await store.getState().importConfig({ text: JSON.stringify(heads), fileName: 'wide.json' });
    expect(store.getState().config).toBe(before);
    expect(store.getState().notices.at(-1)?.message).toMatch(/config has 5 heads per layer but the capture has 4/);
  });

  it('imports a fitting config as the new baseline and re-analyzes', async () => {
    const heads = FAKE_CAPTURE.layers.map(() => Array.from({ length: 4 }, () => ({ pattern: 'block_sparse', a: 8, b: 0 })));
    const analyzeJobs = [...api.jobs.values()].filter((s) => s.kind === 'analyze').length;
    await store.getState().importConfig({ text: JSON.stringify(heads), fileName: 'cfg.json' });
    await settle();
    expect(store.getState().loadedConfig?.heads[2]?.[1]?.pattern).toBe('block_sparse');
    expect([...api.jobs.values()].filter((s) => s.kind === 'analyze')).toHaveLength(analyzeJobs + 1);
  });

  it('reports engine errors as notices that name what failed', async () => {
    api.failures.set('capture.open', new ApiError('/nope.safetensors: no such file', 'not-found'));
    await store.getState().openCapture('/nope.safetensors');
    expect(store.getState().notices.at(-1)).toMatchObject({ level: 'error', message: 'Failed opening /nope.safetensors: /nope.safetensors: no such file' });
    expect(store.getState().capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    expect(store.getState().opening).toBe(false);
  });

  it('shift-selection toggles heads and plain focus resets the selection', () => {
    const { focusHead } = store.getState();
    focusHead({ layer: 1, head: 1 }, { extendSelection: true });
    focusHead({ layer: 2, head: 2 }, { extendSelection: true });
    expect(store.getState().selection).toEqual([headKey(0, 0), headKey(1, 1), headKey(2, 2)]);
    focusHead({ layer: 1, head: 1 }, { extendSelection: true });
    expect(store.getState().selection).toEqual([headKey(0, 0), headKey(2, 2)]);
    focusHead({ layer: 2, head: 0 }, { view: 'head' });
    expect(store.getState().selection).toEqual([headKey(2, 0)]);
    expect(store.getState().view).toBe('head');
  });

  it('remembers the theme choice', () => {
    const saved = new Map<string, string>();
    const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v) };
    createAppStore(api, { storage }).getState().setTheme('dark');
    expect(createAppStore(api, { storage }).getState().theme).toBe('dark');
  });
});

describe('the first screen (issue 12 item 1)', () => {
  it('opens the real sample the engine ships and searches each head to recall 0.95 instead of showing the all-covering default', async () => {
    const api = new FakeApi();
    api.shipsSample = true;
    const store = createAppStore(api);
    await store.getState().init();
    await settle();
    expect(store.getState().capture?.captureId).toBe(FAKE_SAMPLE.captureId);
    expect(api.jobs.get(api.lastJobId('search'))).toEqual({ kind: 'search', captureId: FAKE_SAMPLE.captureId, settings: FIRST_SCREEN_SEARCH });
    expect(FIRST_SCREEN_SEARCH).toMatchObject({ mode: 'target-recall', targetRecall: 0.95 });
    api.finishJob(api.lastJobId('analyze'));
    api.finishJob(api.lastJobId('search'));
    expect(store.getState().searched).not.toBeNull();
    expect(store.getState().config?.heads[0]?.[1]).toMatchObject({ pattern: 'stream_llm' });
    expect(store.getState().notices).toEqual([]);
    // The app searched, not the user: closing does not ask about unsaved edits, until the user edits.
    expect(hasUnsavedEdits(store.getState())).toBe(false);
    store.getState().setPatterns([headKey(0, 1)], { pattern: 'dense', a: 0, b: 0 }, 'dense');
    expect(hasUnsavedEdits(store.getState())).toBe(true);
  });

  it('starts on the demo, quietly, when the engine ships no sample, and says so when the sample is broken', async () => {
    const bare = new FakeApi();
    const store = createAppStore(bare);
    await store.getState().init();
    await settle();
    expect(store.getState().capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    expect(store.getState().notices).toEqual([]);

    const broken = new FakeApi();
    broken.shipsSample = true;
    broken.failures.set('capture.openSample', new ApiError('sample.safetensors: truncated file', 'bad-request'));
    const told = createAppStore(broken);
    await told.getState().init();
    await settle();
    expect(told.getState().capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    expect(told.getState().notices.map((n) => n.message)).toEqual(['Failed opening the sample capture: sample.safetensors: truncated file']);
  });
});
