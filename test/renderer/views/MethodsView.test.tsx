// @vitest-environment jsdom
/** The Methods view (issue 15) on the fake engine: every method's mask and numbers for the focused head, the winner marked. */
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type HeadPattern } from '../../../contract/api';
import { MethodsView } from '../../../renderer/src/views/MethodsView';
import { byTestId, click, commitInto, mount, wait, type Mounted } from '../dom.js';

type Asked = { layer: number; head: number; pattern: HeadPattern; staleKey?: string };

const asked = (mounted: Mounted, method: 'head.evaluate' | 'head.mask') => mounted.api.calls.filter((c) => c.method === method).map((c) => c.params as Asked);
const tableRows = (container: HTMLElement) => [...byTestId(container, 'methods-table').querySelectorAll('tbody tr')] as HTMLTableRowElement[];
const cells = (row: HTMLTableRowElement) => [...row.querySelectorAll('th, td')].map((cell) => cell.textContent?.trim());

/** A search across the four methods, finished on the fake engine. */
async function searchAcrossMethods(mounted: Mounted): Promise<void> {
  const { api, store } = mounted;
  await act(async () => store.getState().startJob({ kind: 'search', captureId: store.getState().capture!.captureId, settings: { mode: 'target-recall', targetRecall: 0.95, methods: ['minference', 'xattention', 'flexprefill', 'duo'] } }));
  await act(async () => api.finishJob(api.lastJobId('search')));
  await wait(10);
}

describe('Methods', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('without a search: evaluates each method at its defaults, one map with four masks, four rows, the winner marked', async () => {
    mounted = await mount(<MethodsView />);
    await wait(10);
    const { container } = mounted;
    expect(asked(mounted, 'head.evaluate').map((p) => p.pattern)).toEqual([
      { pattern: 'vertical_and_slash', a: 1000, b: 6096 },
      { pattern: 'xattention', a: 900, b: 8 },
      { pattern: 'flexprefill', a: 900, b: 100 },
      { pattern: 'stream_llm', a: 64, b: 256 },
    ]);
    expect(mounted.api.calls.filter((c) => c.method === 'head.pooledMap')).toHaveLength(1);
    expect(asked(mounted, 'head.mask')).toHaveLength(4);
    expect(container.querySelectorAll('[data-testid=method-mask]')).toHaveLength(4);
    const rows = tableRows(container);
    expect(rows.map((row) => row.dataset.method)).toEqual(['minference', 'xattention', 'flexprefill', 'duo']);
    // Fake recall grows with the budget: MInference's 1000 + 6096 and XAttention's 908 keep 0.95, DuoAttention's 320 does not.
    expect(cells(rows[3]!)).toContain('✗ no');
    const winner = container.querySelector<HTMLTableRowElement>('.winner-row')!;
    expect(winner.dataset.method).toBe('xattention');
    expect(byTestId(container, 'method-tile-xattention').className).toContain('winner');
    expect(byTestId(container, 'methods-winner-rule').textContent).toMatch(/XAttention wins on the numbers shown: the least index \+ sparse time/);
    expect(byTestId(container, 'methods-source').textContent).toMatch(/No search across methods yet/);
  });

  it('a parameter edit is evaluated on Enter, kept across heads, and reset goes back to the default', async () => {
    mounted = await mount(<MethodsView />);
    await wait(10);
    const { container, store } = mounted;
    await commitInto(byTestId<HTMLInputElement>(container, 'method-xattention-a'), '950');
    await wait(10);
    expect(asked(mounted, 'head.evaluate').at(-1)).toMatchObject({ pattern: { pattern: 'xattention', a: 950, b: 8 }, staleKey: 'methods-xattention' });
    expect(byTestId(container, 'method-tile-xattention').textContent).toMatch(/your edit/);
    expect(cells(tableRows(container)[1]!)[1]).toBe('XA 0.95/8');
    await act(async () => store.getState().focusHead({ layer: 1, head: 2 }));
    await wait(10);
    expect(asked(mounted, 'head.evaluate').filter((p) => p.layer === 1 && p.head === 2).map((p) => p.pattern.a)).toContain(950);
    await click(byTestId(container, 'method-params-xattention').querySelector('button'));
    expect(store.getState().methodOverrides).toEqual({});
    expect(cells(tableRows(container)[1]!)[1]).toBe('XA 0.9/8');
  });

  it('an out-of-range parameter is refused inline, not sent', async () => {
    mounted = await mount(<MethodsView />);
    await wait(10);
    const before = asked(mounted, 'head.evaluate').length;
    await commitInto(byTestId<HTMLInputElement>(mounted.container, 'method-flexprefill-a'), '1200');
    expect(byTestId(mounted.container, 'method-flexprefill-a-error').textContent).toBe('between 1 and 1,000');
    expect(asked(mounted, 'head.evaluate')).toHaveLength(before);
  });

  it("after a search across methods: the search's choices and numbers, no re-evaluation, the search's winner", async () => {
    mounted = await mount(<MethodsView />);
    await searchAcrossMethods(mounted);
    const { container, store } = mounted;
    const comparison = store.getState().searched!.comparison!.find((c) => c.layer === 0 && c.head === 0)!;
    const evaluatedBefore = asked(mounted, 'head.evaluate').length;
    await wait(10);
    expect(asked(mounted, 'head.evaluate')).toHaveLength(evaluatedBefore);
    const rows = tableRows(container);
    comparison.choices.forEach((choice, index) => expect(cells(rows[index]!)[2]).toBe(choice.stats.recall.toFixed(4)));
    expect(container.querySelector<HTMLElement>('.winner-row')!.dataset.method).toBe(comparison.winner);
    expect(byTestId(container, 'methods-winner-rule').textContent).toMatch(/the search's verdict/);
    expect(byTestId(container, 'methods-source').textContent).toMatch(/as your search chose it/);
    // DuoAttention missed the target on this head, so the search ran it dense.
    expect(cells(rows[3]!)).toEqual(expect.arrayContaining(['dense', '✗ no']));
  });

  it('a cancelled evaluation is asked again while wanted, an engine that keeps cancelling ends in an error, and a failure is asked again when next wanted', async () => {
    mounted = await mount(<MethodsView />);
    const { api, container, store } = mounted;
    api.failures.set('head.evaluate', new ApiError('superseded by a newer request', 'cancelled'));
    await act(async () => store.getState().focusHead({ layer: 2, head: 3 }));
    await wait(20);
    const askedFor = (head: number) => asked(mounted, 'head.evaluate').filter((p) => p.layer === 2 && p.head === head && p.pattern.pattern === 'xattention');
    expect(askedFor(3)).toHaveLength(3);
    expect(cells(tableRows(container)[1]!)).toContain('superseded by a newer request');
    api.failures.delete('head.evaluate');
    await act(async () => store.getState().focusHead({ layer: 2, head: 2 }));
    await act(async () => store.getState().focusHead({ layer: 2, head: 3 }));
    await wait(20);
    expect(askedFor(3)).toHaveLength(4);
    expect(cells(tableRows(container)[1]!)[2]).toMatch(/^0\.\d{4}$/);
  });

  it("Use gives the head a method's pattern in the config, undone by Ctrl+Z's action", async () => {
    mounted = await mount(<MethodsView />);
    await wait(10);
    const { container, store } = mounted;
    await click(byTestId(container, 'use-flexprefill'));
    expect(store.getState().config!.heads[0]![0]).toMatchObject({ pattern: 'flexprefill', a: 900, b: 100 });
    expect(byTestId<HTMLButtonElement>(container, 'use-flexprefill').disabled).toBe(true);
    await act(async () => store.getState().undo());
    expect(store.getState().config!.heads[0]![0]!.pattern).toBe('vertical_and_slash');
  });
});
