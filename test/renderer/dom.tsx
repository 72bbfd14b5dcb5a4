/**
 * Rendering React views in jsdom for component tests: stubs for what jsdom lacks (canvas drawing,
 * ResizeObserver, matchMedia), a store wired to the fake engine, and small event helpers.
 */
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { StoreProvider } from '../../renderer/src/state/context';
import { createAppStore, type AppStore } from '../../renderer/src/state/store';
import { FakeApi } from './fake-api.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;
window.matchMedia ??= ((query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} })) as unknown as typeof window.matchMedia;
// jsdom's Blob has no text(); browsers do.
Blob.prototype.text ??= function (this: Blob) {
  return new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsText(this);
  });
};
// jsdom has no 2D canvas; the views treat a missing context as "nothing to draw".
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

export interface Mounted {
  api: FakeApi;
  store: AppStore;
  container: HTMLElement;
  unmount(): void;
}

/** Let fake engine replies, job events and React updates run. */
export async function flush(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  });
}

export async function wait(ms: number): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, ms));
  });
  await flush();
}

/** A started app (demo open, analysis finished) with `ui` rendered inside its providers. */
export async function mount(ui: ReactNode): Promise<Mounted> {
  const api = new FakeApi();
  const store = createAppStore(api);
  await store.getState().init();
  await flush();
  api.finishJob(api.lastJobId('analyze'));
  const container = document.createElement('div');
  document.body.append(container);
  let root: Root;
  await act(async () => {
    root = createRoot(container);
    root.render(
      <StoreProvider store={store} api={api}>
        {ui}
      </StoreProvider>,
    );
  });
  await flush();
  return {
    api,
    store,
    container,
    unmount() {
      act(() => root.unmount());
      container.remove();
    },
  };
}

/** Type into a React-controlled input (React listens for the native value setter plus `input`). */
export async function typeInto(input: HTMLInputElement, value: string): Promise<void> {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  await act(async () => {
    setter.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await flush();
}

export async function click(element: Element | null, init: MouseEventInit = {}): Promise<void> {
  if (!element) throw new Error('nothing to click');
  await act(async () => {
    element.dispatchEvent(new MouseEvent('click', { bubbles: true, ...init }));
  });
  await flush();
}

export function byTestId<T extends Element = HTMLElement>(container: ParentNode, id: string): T {
  const element = container.querySelector<T>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`no element with data-testid=${id}`);
  return element;
}

export function button(container: ParentNode, text: string | RegExp): HTMLButtonElement {
  const found = [...container.querySelectorAll('button')].find((b) => (typeof text === 'string' ? b.textContent?.trim() === text : text.test(b.textContent ?? '')));
  if (!found) throw new Error(`no button ${String(text)}`);
  return found;
}

/** Type into a field that commits on Enter (NumberField), and press Enter. */
export async function commitInto(input: HTMLInputElement, value: string): Promise<void> {
  await typeInto(input, value);
  await act(async () => {
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  });
  await flush();
}
