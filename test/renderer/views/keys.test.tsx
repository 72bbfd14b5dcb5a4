// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { headKey } from '../../../renderer/src/state/config';
import { App } from '../../../renderer/src/views/App';
import { isTextField } from '../../../renderer/src/views/keys';
import { byTestId, click, flush, mount, type Mounted } from '../dom.js';

const press = (target: EventTarget, key: string, init: KeyboardEventInit = {}) =>
  act(async () => {
    target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init }));
  });

function input(type: string): HTMLInputElement {
  const element = document.createElement('input');
  element.type = type;
  return element;
}

describe('keys (issue 12 item 7)', () => {
  let mounted: Mounted;
  afterEach(() => mounted?.unmount());

  it('tells text fields from other controls', () => {
    expect(['text', 'number', 'url', 'search'].map((type) => isTextField(input(type)))).toEqual([true, true, true, true]);
    expect(['range', 'checkbox', 'radio', 'button'].map((type) => isTextField(input(type)))).toEqual([false, false, false, false]);
    expect(isTextField(document.createElement('textarea'))).toBe(true);
    expect(isTextField(document.createElement('select'))).toBe(false);
  });

  it('undoes and redoes with Ctrl+Z from a select or a slider, but leaves a text field its own undo', async () => {
    mounted = await mount(<App />);
    const { store, container } = mounted;
    await act(async () => store.getState().setPatterns([headKey(0, 1)], { pattern: 'dense', a: 0, b: 0 }, 'dense'));
    const select = byTestId(container, 'theme');
    await press(select, 'z', { ctrlKey: true });
    expect(store.getState().undoStack).toHaveLength(0);
    const slider = input('range');
    container.append(slider);
    await press(slider, 'z', { ctrlKey: true, shiftKey: true });
    expect(store.getState().undoStack).toHaveLength(1);
    const text = input('number');
    container.append(text);
    await press(text, 'z', { ctrlKey: true });
    expect(store.getState().undoStack).toHaveLength(1);
    await press(document.body, 'y', { ctrlKey: true });
    expect(store.getState().redoStack).toHaveLength(0);
  });

  it('closes every dialog with Esc, whatever control inside has focus', async () => {
    mounted = await mount(<App />);
    const { container, store } = mounted;
    await act(async () => store.getState().toggleHelp(true));
    await press(byTestId(container, 'help').querySelector('button')!, 'Escape');
    expect(container.querySelector('[data-testid=help]')).toBeNull();

    await act(async () => store.getState().setView('files'));
    await click(byTestId(container, 'open-capture'));
    await flush();
    const browser = byTestId(container, 'file-browser');
    await press(browser.querySelector('select')!, 'Escape');
    expect(container.querySelector('[data-testid=file-browser]')).toBeNull();

    // A search that would replace a tuned head asks; Esc keeps the tuned head.
    await act(async () => store.getState().setPatterns([headKey(1, 0)], { pattern: 'dense', a: 0, b: 0 }, 'dense'));
    await act(async () => store.getState().startJob({ kind: 'search', captureId: 'cap-1', settings: { mode: 'candidates' } }));
    await act(async () => mounted.api.finishJob(mounted.api.lastJobId('search')));
    await press(byTestId(container, 'search-confirm'), 'Escape');
    expect(container.querySelector('[data-testid=search-confirm]')).toBeNull();
    expect(store.getState().config?.heads[1]?.[0]).toMatchObject({ pattern: 'dense' });
    expect(store.getState().searched).not.toBeNull();
  });
});
