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
    const pattern = container.querySelectorAll('select')[1] as HTMLSelectElement;
    await choose(pattern, 'block_sparse');
    const rows = container.querySelectorAll<HTMLTableRowElement>('[data-testid=heads-table] tbody tr');
    expect([...rows].map((r) => r.dataset.head)).toEqual(['2:3']);
    await click(rows[0]!, { shiftKey: true });
    expect(store.getState().selection).toEqual(['0:0', '2:3']);
  });
});
