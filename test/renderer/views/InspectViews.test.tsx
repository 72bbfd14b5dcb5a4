// @vitest-environment jsdom
/** The kernel, output-error and compare views (issue 12, what no peer shows) on the fake engine. */
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { headKey } from '../../../renderer/src/state/config';
import { CompareView } from '../../../renderer/src/views/CompareView';
import { KernelView } from '../../../renderer/src/views/KernelView';
import { OutputErrorView } from '../../../renderer/src/views/OutputErrorView';
import { byTestId, click, mount, typeInto, wait, type Mounted } from '../dom.js';
import { FAKE_CAPTURE, fakeRecall } from '../fake-api.js';

describe('views of the sparse kernel', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('Kernel: asks for the last query block of the focused head’s pattern, lists MInference’s arguments, and steps blocks', async () => {
    mounted = await mount(<KernelView />);
    const { api, container } = mounted;
    const lastBlock = FAKE_CAPTURE.seqLen / 64 - 1;
    const asked = () => api.calls.filter((c) => c.method === 'head.kernelBlocks').at(-1)?.params;
    expect(asked()).toMatchObject({ layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a: 1000, b: 6096 }, queryBlock: lastBlock });
    expect(byTestId(container, 'block-count').textContent).toBe('2');
    expect(byTestId(container, 'block-offset').textContent).toBe(`[0, ${lastBlock * 64}]`);
    expect(byTestId(container, 'column-count').textContent).toBe('3');
    expect(byTestId(container, 'column-index').textContent).toBe('[100, 101, 300]');
    expect(byTestId(container, 'kernel-lists').textContent).toMatch(/Kernel arguments of query block 31/);
    await click(container.querySelector('[aria-label="Previous query block"]'));
    expect(asked()).toMatchObject({ queryBlock: lastBlock - 1 });
    await typeInto(byTestId<HTMLInputElement>(container, 'query-block'), '1');
    expect(asked()).toMatchObject({ queryBlock: 1 });
    expect(byTestId(container, 'column-index').textContent).toBe('[ ] (none)');
  });

  it('Output error: draws a bar per sampled row, the worst rows, the missed keys and what they say', async () => {
    mounted = await mount(<OutputErrorView />);
    const { api, container, store } = mounted;
    await act(async () => store.getState().setPatterns([headKey(0, 0)], { pattern: 'vertical_and_slash', a: 30, b: 50 }, 'small budget'));
    await wait(10);
    expect(api.calls.filter((c) => c.method === 'head.outputError').at(-1)?.params).toMatchObject({ layer: 0, head: 0, rows: 256, pattern: { a: 30, b: 50 } });
    expect(byTestId(container, 'row-error-strip').querySelectorAll('rect')).toHaveLength(256);
    expect(byTestId(container, 'worst-rows').querySelectorAll('tbody tr')).toHaveLength(8);
    expect([...byTestId(container, 'missed-columns').querySelectorAll('li')].map((li) => li.textContent)).toEqual(['key 750.0%', 'key 4220.0%']);
    expect(byTestId(container, 'diagnosis').textContent).toMatch(/70% of it sits in 2 key columns.*raise vertical_size \(now 30\)/);
    // A row that loses much opens its query block in the Kernel view.
    const worst = byTestId(container, 'worst-rows').querySelector('tbody button')!;
    await click(worst);
    expect([store.getState().view, store.getState().kernelBlock]).toEqual(['kernel', Math.floor(Number(worst.textContent) / 64)]);
  });

  it('Compare: the loaded config (no search ran) against your edit, each measured, with B − A', async () => {
    mounted = await mount(<CompareView />);
    const { api, container, store } = mounted;
    await act(async () => store.getState().setPatterns([headKey(0, 0)], { pattern: 'stream_llm', a: 64, b: 512 }, 'A-shape'));
    await wait(20);
    const evaluated = api.calls.filter((c) => c.method === 'head.evaluate').map((c) => c.params as { pattern: { pattern: string }; staleKey: string });
    expect(evaluated.some((p) => p.staleKey === 'compare-A' && p.pattern.pattern === 'vertical_and_slash')).toBe(true);
    expect(evaluated.some((p) => p.staleKey === 'compare-B' && p.pattern.pattern === 'stream_llm')).toBe(true);
    expect(byTestId(container, 'compare-B').textContent).toMatch(/A-shape · sink 64 · local 512/);
    const [recallRow] = byTestId(container, 'compare-difference').querySelectorAll('tbody tr');
    const cells = [...recallRow!.querySelectorAll('td')].map((td) => td.textContent);
    const [a, b] = [fakeRecall(0, 0, { pattern: 'vertical_and_slash', a: 1000, b: 6096 }), fakeRecall(0, 0, { pattern: 'stream_llm', a: 64, b: 512 })];
    expect(cells).toEqual([a.toFixed(4), b.toFixed(4), `−${(a - b).toFixed(4)}`]);
    expect(byTestId(container, 'compare-diff-map')).toBeTruthy();
  });

  it('Compare: a second file is imported beside the config, never over it, and refused when it does not fit', async () => {
    mounted = await mount(<CompareView />);
    const { container, store } = mounted;
    const heads = FAKE_CAPTURE.layers.map(() => Array.from({ length: FAKE_CAPTURE.numHeads }, () => ({ pattern: 'block_sparse', a: 4, b: 0 })));
    await act(async () => store.getState().importComparisonFile({ text: JSON.stringify(heads), fileName: 'other.json' }));
    expect(store.getState().comparisonFile?.fileName).toBe('other.json');
    expect(store.getState().config?.heads[0]?.[0]?.pattern).toBe('vertical_and_slash');
    const select = byTestId<HTMLSelectElement>(container, 'compare-source-B');
    expect([...select.options].find((o) => o.value === 'file')?.disabled).toBe(false);
    const tooMany = [...heads, ...heads];
    await act(async () => store.getState().importComparisonFile({ text: JSON.stringify(tooMany), fileName: 'big.json' }));
    expect(store.getState().comparisonFile?.fileName).toBe('other.json');
    expect(store.getState().notices.at(-1)?.message).toMatch(/importing big\.json to compare: it does not fit the open capture: the config has 6 layers but the capture has 3/);
  });
});
