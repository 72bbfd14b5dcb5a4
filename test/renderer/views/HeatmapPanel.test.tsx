// @vitest-environment jsdom
/** The heatmap's mask layer across heads: never another head's mask, and none when it fails. */
import { act, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, type HeadPattern } from '../../../contract/api';
import { HeatmapPanel } from '../../../renderer/src/views/HeatmapPanel';
import { byTestId, mount, wait, type Mounted } from '../dom.js';
import { FAKE_CAPTURE } from '../fake-api.js';

const MASK: HeadPattern = { pattern: 'vertical_and_slash', a: 1000, b: 6096 };
let showHead: (head: number) => void = () => {};

function Panel() {
  const [head, setHead] = useState(0);
  showHead = setHead;
  return <HeatmapPanel captureId={FAKE_CAPTURE.captureId} seqLen={FAKE_CAPTURE.seqLen} layer={0} head={head} theme="light" scale="log" resolution={64} mask={MASK} />;
}

/** A 2D context that draws nothing: jsdom has none, and the mask layers are rendered to canvases. */
function silentContext(): CanvasRenderingContext2D {
  const createImageData = (width: number, height: number) => ({ width, height, data: new Uint8ClampedArray(width * height * 4) });
  const getImageData = (_x: number, _y: number, width: number, height: number) => createImageData(width, height);
  return new Proxy({ createImageData, getImageData } as object, { get: (target, key) => (key in target ? (target as Record<string | symbol, unknown>)[key] : () => {}) }) as CanvasRenderingContext2D;
}

// jsdom has no ImageData either.
(globalThis as { ImageData?: unknown }).ImageData ??= class {
  constructor(
    readonly data: Uint8ClampedArray,
    readonly width: number,
    readonly height = data.length / 4 / width,
  ) {}
};

describe('HeatmapPanel mask', () => {
  let mounted: Mounted;
  const jsdomGetContext = HTMLCanvasElement.prototype.getContext;
  beforeEach(() => {
    HTMLCanvasElement.prototype.getContext = (() => silentContext()) as unknown as typeof HTMLCanvasElement.prototype.getContext;
  });
  afterEach(() => {
    mounted?.unmount();
    HTMLCanvasElement.prototype.getContext = jsdomGetContext;
  });

  it("draws the head's mask, drops it on a head whose mask fails, and says why", async () => {
    mounted = await mount(<Panel />);
    const { api, container } = mounted;
    await wait(200);
    const canvas = () => byTestId(container, 'heatmap');
    expect(container.querySelector('[role="alert"]')?.textContent ?? '').toBe('');
    expect(canvas().dataset['mask']).toBe('drawn');
    api.failures.set('head.mask', new ApiError('mask failed on purpose', 'internal'));
    await act(async () => showHead(1));
    // Before the new head's mask arrives the old one is gone, not shown as this head's.
    expect(canvas().dataset['mask']).toBe('loading');
    await wait(200);
    expect(canvas().dataset['mask']).toBe('none');
    expect(container.querySelector('[role="alert"]')?.textContent).toMatch(/mask: .*mask failed on purpose/);
    api.failures.delete('head.mask');
    await act(async () => showHead(0));
    await wait(200);
    expect(canvas().dataset['mask']).toBe('drawn');
  });
});
