// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { SearchSettings } from '../../../contract/api';
import { SearchConfirm, SearchView } from '../../../renderer/src/views/SearchView';
import { button, byTestId, click, flush, mount, type Mounted } from '../dom.js';

describe('Search', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('starts, shows progress with cancel, and cancels through the engine', async () => {
    mounted = await mount(<SearchView />);
    const { api, container, store } = mounted;
    await click(byTestId(container, 'start-search'));
    expect(api.jobs.get(api.lastJobId('search'))).toMatchObject({ kind: 'search', settings: { mode: 'target-recall', targetRecall: 0.95 } });
    expect(byTestId(container, 'job-search').dataset.state).toBe('running');
    expect(container.textContent).toContain('3 s left');
    await click(byTestId(container, 'cancel-search'));
    await flush();
    expect(store.getState().jobs.search?.state).toBe('cancelled');
  });

  it('searches the methods ticked (MInference always), only in target-recall mode, and says how many heads each wins', async () => {
    mounted = await mount(<SearchView />);
    const { api, container } = mounted;
    expect(byTestId<HTMLInputElement>(container, 'search-method-minference').disabled).toBe(true);
    await click(byTestId(container, 'search-method-duo'));
    await click(byTestId(container, 'search-method-xattention'));
    await click(byTestId(container, 'start-search'));
    expect(api.jobs.get(api.lastJobId('search'))).toMatchObject({ settings: { mode: 'target-recall', methods: ['minference', 'xattention', 'duo'] } });
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(byTestId(container, 'search-result').textContent).toMatch(/Heads each method wins/);
    expect(byTestId(container, 'method-legend').textContent!.trim()).toBe('MInference 11 XAttention 1 FlexPrefill 0 DuoAttention 0');
    await click(container.querySelector('input[name=mode]'));
    expect(byTestId<HTMLFieldSetElement>(container, 'search-methods').disabled).toBe(true);
    await click(byTestId(container, 'start-search'));
    const candidates = api.jobs.get(api.lastJobId('search')) as { settings: SearchSettings };
    expect(candidates.settings.mode).toBe('candidates');
    expect(candidates.settings).not.toHaveProperty('methods');
  });

  it('holds each layer\'s mean when asked, with a floor per head, and not while methods are compared', async () => {
    mounted = await mount(<SearchView />);
    const { api, container } = mounted;
    await click(byTestId(container, 'recall-scope-layer'));
    await click(byTestId(container, 'start-search'));
    const defaultFloor = api.jobs.get(api.lastJobId('search')) as { settings: SearchSettings };
    expect(defaultFloor.settings).toMatchObject({ recallScope: 'layer', targetRecall: 0.95 });
    expect(defaultFloor.settings).not.toHaveProperty('minHeadRecall');
    expect(byTestId<HTMLInputElement>(container, 'min-head-recall').value).toBe('0.92');
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(byTestId(container, 'search-result').textContent).toContain('Cheapest budgets reaching mean recall 0.95 per layer, heads ≥ 0.92');
    await click(byTestId(container, 'search-method-duo'));
    expect(byTestId<HTMLFieldSetElement>(container, 'recall-scope').disabled).toBe(true);
    expect(byTestId(container, 'recall-scope').textContent).toContain("MInference's patterns only");
    await click(byTestId(container, 'start-search'));
    expect(api.jobs.get(api.lastJobId('search'))).not.toHaveProperty('settings.recallScope');
  });

  it('fills the result and asks before replacing a tuned head', async () => {
    mounted = await mount(
      <>
        <SearchView />
        <SearchConfirm />
      </>,
    );
    const { api, container, store } = mounted;
    await act(async () => store.getState().setPatterns(['0:0'], { pattern: 'dense', a: 0, b: 0 }, 'dense'));
    await click(byTestId(container, 'start-search'));
    await act(async () => api.finishJob(api.lastJobId('search')));
    expect(byTestId(container, 'search-confirm').textContent).toContain('1');
    await click(button(container, 'Keep my tuned heads'));
    expect(container.querySelector('[data-testid=search-confirm]')).toBeNull();
    expect(store.getState().config?.heads[0]?.[0]?.pattern).toBe('dense');
    expect(byTestId(container, 'search-result').textContent).toMatch(/12 heads · 12 differ from the loaded config/);
  });
});
