// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { OverviewView } from '../../../renderer/src/views/OverviewView';
import { FAKE_CAPTURE } from '../fake-api.js';
import { byTestId, click, mount, type Mounted } from '../dom.js';

async function choose(select: HTMLSelectElement, value: string): Promise<void> {
  await act(async () => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

describe('Overview', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('lists every head with its numbers and model totals', async () => {
    mounted = await mount(<OverviewView />);
    const rows = mounted.container.querySelectorAll('[data-testid=heads-table] tbody tr');
    expect(rows).toHaveLength(FAKE_CAPTURE.layers.length * FAKE_CAPTURE.numHeads);
    expect(mounted.container.textContent).toContain(`${FAKE_CAPTURE.layers.length} layers × ${FAKE_CAPTURE.numHeads} heads`);
    expect(mounted.container.textContent).toContain('12/12');
  });

  it('labels every speedup: measured after an analysis, predicted for a tuned head and in the totals', async () => {
    mounted = await mount(<OverviewView />);
    const { container, store } = mounted;
    const speedupOf = (key: string) => container.querySelector(`[data-testid=heads-table] tr[data-head="${key}"] td:nth-child(5)`)!.textContent;
    const totals = () => container.querySelector('.totals')!.textContent;
    expect(speedupOf('0:1')).toMatch(/^\d+\.\d\d× measured$/);
    expect(totals()).toMatch(/\d× measured/);
    await act(async () => store.getState().setPatterns(['0:1'], { pattern: 'stream_llm', a: 64, b: 512 }, 'A-shape'));
    await act(async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    });
    expect(speedupOf('0:1')).toMatch(/^≈\d+\.\d\d× predicted$/);
    expect(totals()).toMatch(/≈\d+\.\d\d× predicted/);
  });

  it('sorts lowest recall first, and a double-click opens the head view on that head', async () => {
    mounted = await mount(<OverviewView />);
    const { container, store } = mounted;
    await choose(byTestId(container, 'sort'), 'recall');
    const recalls = [...container.querySelectorAll('[data-testid=heads-table] tbody tr td:nth-child(3)')].map((td) => Number(td.textContent));
    expect(recalls).toEqual([...recalls].sort((a, b) => a - b));
    const worst = container.querySelector<HTMLTableRowElement>('[data-testid=heads-table] tbody tr')!;
    await act(async () => {
      worst.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    });
    const [layer, head] = worst.dataset.head!.split(':').map(Number);
    expect(store.getState().focus).toEqual({ layer, head });
    expect(store.getState().view).toBe('head');
  });

  it('filters by pattern and adds to the selection with shift-click', async () => {
    mounted = await mount(<OverviewView />);
    const { container, store } = mounted;
    await act(async () => store.getState().setPatterns(['2:3'], { pattern: 'block_sparse', a: 4, b: 0 }, 'block'));
    await choose(byTestId(container, 'filter-pattern'), 'block_sparse');
    const rows = container.querySelectorAll<HTMLTableRowElement>('[data-testid=heads-table] tbody tr');
    expect([...rows].map((r) => r.dataset.head)).toEqual(['2:3']);
    await click(rows[0]!, { shiftKey: true });
    expect(store.getState().selection).toEqual(['0:0', '2:3']);
  });

  it('says what the user is looking at: the capture and where its config comes from (issue 12 item 1)', async () => {
    mounted = await mount(<OverviewView />);
    const { container, store, api } = mounted;
    const caption = () => byTestId(container, 'screen-caption').textContent;
    expect(caption()).toContain('Attention of fake-model reading synthetic.');
    expect(caption()).toContain("MInference's default config (Vertical-Slash 1000/6096) computes every entry at 2,048 tokens, so every head reads recall 1: run Search");
    await act(async () => store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'target-recall', targetRecall: 0.95 } }));
    expect(caption()).toMatch(/^.*Searching each head's cheapest pattern/);
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(caption()).toContain('Each head runs the cheapest pattern that keeps 95% of its attention (recall 0.95).');
    await act(async () => store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'target-recall', targetRecall: 0.95, recallScope: 'layer' } }));
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(caption()).toContain("Each layer's heads keep 95% of their attention on average (recall 0.95, no head below 0.92) at the cheapest mix of budgets.");
    await act(async () => store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } }));
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(caption()).toContain("Each head runs the best of MInference's candidate patterns.");
  });

  it('colours the grid by a chosen measure with its legend, the pattern as a mark (issue 12 item 4)', async () => {
    mounted = await mount(<OverviewView />);
    const { container } = mounted;
    expect(byTestId(container, 'head-grid').dataset.colour).toBe('density');
    expect(byTestId(container, 'grid-legend').textContent).toMatch(/0%50%100%density \(computed share\), lower is better · corner: pattern/);
    await choose(byTestId(container, 'grid-colour'), 'recall');
    expect(byTestId(container, 'head-grid').dataset.colour).toBe('recall');
    expect(byTestId(container, 'grid-legend').textContent).toMatch(/recall, higher is better/);
    await choose(byTestId(container, 'grid-colour'), 'pattern');
    expect(container.querySelector('[data-testid=grid-legend]')).toBeNull();
    expect(container.querySelector('[aria-label="Pattern colours"]')).not.toBeNull();
  });

  it('colours the grid by the method that wins each head once a search compared methods (issue 15)', async () => {
    mounted = await mount(<OverviewView />);
    const { api, container, store } = mounted;
    const methodOption = () => byTestId<HTMLSelectElement>(container, 'grid-colour').querySelector<HTMLOptionElement>('option[value=method]')!;
    expect(methodOption().disabled).toBe(true);
    await act(async () => store.getState().startJob({ kind: 'search', captureId: FAKE_CAPTURE.captureId, settings: { mode: 'target-recall', targetRecall: 0.95, methods: ['minference', 'xattention', 'duo'] } }));
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(methodOption().disabled).toBe(false);
    await choose(byTestId(container, 'grid-colour'), 'method');
    expect(byTestId(container, 'head-grid').dataset.colour).toBe('method');
    const wins = store.getState().searched!.comparison!.reduce<Record<string, number>>((counts, c) => ({ ...counts, [c.winner]: (counts[c.winner] ?? 0) + 1 }), {});
    const legend = byTestId(container, 'method-legend').textContent!;
    expect(legend).toContain(`MInference ${wins.minference ?? 0}`);
    expect(legend).toContain(`XAttention ${wins.xattention ?? 0}`);
    expect(legend).toMatch(/FlexPrefill 0.*DuoAttention/);
    // A new capture has no comparison: the grid falls back to patterns.
    await act(async () => store.getState().openDemo());
    expect(byTestId(container, 'head-grid').dataset.colour).toBe('pattern');
  });
});
