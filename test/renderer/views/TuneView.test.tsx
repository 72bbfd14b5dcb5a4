// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { TuneView } from '../../../renderer/src/views/TuneView';
import { fakeRecall } from '../fake-api.js';
import { button, byTestId, click, commitInto, mount, typeInto, wait, type Mounted } from '../dom.js';

describe('Tune view', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('re-evaluates the head as the budget changes, debounced, with a stale key, and shows the new recall', async () => {
    mounted = await mount(<TuneView />);
    const { api, container } = mounted;
    await wait(200);
    const before = api.calls.filter((c) => c.method === 'head.evaluate').length;
    await commitInto(byTestId(container, 'param-a-number'), '40');
    await commitInto(byTestId(container, 'param-a-number'), '30');
    expect(byTestId(container, 'tune-stats').dataset.pending).toBe('true');
    await wait(250);
    const evaluations = api.calls.filter((c) => c.method === 'head.evaluate').slice(before);
    // Two edits inside the debounce window make one request.
    expect(evaluations).toHaveLength(1);
    expect(evaluations[0]!.params).toMatchObject({ layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a: 30, b: 6096 }, staleKey: 'tune-0:0' });
    const stats = byTestId(container, 'tune-stats');
    expect(stats.dataset.pending).toBe('false');
    expect(stats.querySelector('.stat-value')?.textContent).toBe(fakeRecall(0, 0, { pattern: 'vertical_and_slash', a: 30, b: 6096 }).toFixed(4));
    // Sampled rows give no timing: the speedup is the engine's prediction, and says so.
    expect(stats.textContent).toMatch(/≈\d+\.\d\d× predicted/);
    expect(Number(stats.dataset.latencyMs)).toBeGreaterThan(0);
  });

  it('a new evaluation redraws the recall strip without re-requesting the map or the mask', async () => {
    mounted = await mount(<TuneView />);
    const { api, container } = mounted;
    await wait(300);
    const count = (method: string) => api.calls.filter((c) => c.method === method).length;
    const [maps, masks] = [count('head.pooledMap'), count('head.mask')];
    await commitInto(byTestId(container, 'param-a-number'), '30');
    await wait(300);
    expect(byTestId(container, 'tune-stats').dataset.pending).toBe('false');
    expect(count('head.pooledMap')).toBe(maps);
    expect(count('head.mask') - masks).toBe(1); // the new draft's mask, once: the map is not zoomed in
  });

  it('applies the draft, lists it in the diff, and undoes it', async () => {
    mounted = await mount(<TuneView />);
    const { store, container } = mounted;
    await commitInto(byTestId(container, 'param-b-number'), '500');
    await click(byTestId(container, 'apply'));
    expect(store.getState().config?.heads[0]?.[0]).toEqual({ pattern: 'vertical_and_slash', a: 1000, b: 500 });
    expect(byTestId(container, 'diff').textContent).toContain('L0 H0');
    await click(button(container, 'Undo'));
    expect(store.getState().config?.heads[0]?.[0]).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
    expect(byTestId(container, 'diff').children).toHaveLength(0);
  });

  it('applies to every selected head when several are selected', async () => {
    mounted = await mount(<TuneView />);
    const { store, container } = mounted;
    await act(async () => store.getState().focusHead({ layer: 1, head: 2 }, { extendSelection: true }));
    const radio = container.querySelector<HTMLInputElement>('input[value=stream_llm]')!;
    await click(radio);
    const apply = byTestId(container, 'apply');
    expect(apply.textContent).toBe('Apply to 2 selected heads');
    await click(apply);
    expect(store.getState().config?.heads[0]?.[0]?.pattern).toBe('stream_llm');
    expect(store.getState().config?.heads[1]?.[2]?.pattern).toBe('stream_llm');
  });

  it('commits a number on Enter or blur, not per keystroke, and refuses what is out of range with an inline error (issue 12 item 5)', async () => {
    mounted = await mount(<TuneView />);
    const { api, container } = mounted;
    await wait(200);
    const field = byTestId<HTMLInputElement>(container, 'param-a-number');
    const evaluated = () => api.calls.filter((c) => c.method === 'head.evaluate').map((c) => (c.params as { pattern: { a: number } }).pattern.a);
    const before = evaluated().length;
    // Typing 120 passes through 1 and 12, below the minimum of 30: nothing is clamped or sent meanwhile.
    for (const text of ['1', '12', '120']) await typeInto(field, text);
    await wait(200);
    expect(field.value).toBe('120');
    expect(evaluated().slice(before)).toEqual([]);
    await act(async () => {
      field.dispatchEvent(new FocusEvent('focusout', { bubbles: true }));
    });
    await wait(200);
    expect(evaluated().slice(before)).toEqual([120]);

    await commitInto(field, '12');
    expect(byTestId(container, 'param-a-number-error').textContent).toBe('between 30 and 2,048');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    await commitInto(field, '40.5');
    expect(byTestId(container, 'param-a-number-error').textContent).toBe('enter a whole number');
    await wait(200);
    expect(evaluated().slice(before)).toEqual([120]);
    await act(async () => {
      field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    });
    expect(field.value).toBe('120');
    expect(container.querySelector('[data-testid=param-a-number-error]')).toBeNull();
  });
});
