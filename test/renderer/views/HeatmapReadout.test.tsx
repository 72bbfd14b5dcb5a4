// @vitest-environment jsdom
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Readout } from '../../../renderer/src/charts/readout';
import { buildLut } from '../../../renderer/src/charts/colormap';
import { TokenText } from '../../../renderer/src/state/tokens';
import { HeatmapReadout } from '../../../renderer/src/views/HeatmapReadout';
import { MapLegend } from '../../../renderer/src/views/MapLegend';
import { flush } from '../dom.js';
import { FAKE_SAMPLE, FakeApi } from '../fake-api.js';

const lut = buildLut(() => 'rgb(10, 20, 30)');
const readout: Readout = { row: 700, col: 40, future: false, cell: { rowStart: 696, rowEnd: 704, colStart: 40, colEnd: 48 }, mass: 0.0123, peak: 0.004, coverage: 0, vertical: 41, slash: null };

let container: HTMLElement;
let unmount: () => void;

async function render(ui: React.ReactNode): Promise<void> {
  container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  await act(async () => root.render(ui));
  await flush();
  unmount = () => {
    act(() => root.unmount());
    container.remove();
  };
}

describe('the heatmap readout and legend', () => {
  afterEach(() => unmount?.());

  it('reads the pointed cell: query and key with their token text, mass, skipped, and the chosen column', async () => {
    const api = new FakeApi();
    const tokens = new TokenText(api, FAKE_SAMPLE.captureId, FAKE_SAMPLE.seqLen);
    await render(<HeatmapReadout readout={readout} tokens={tokens} seqLen={FAKE_SAMPLE.seqLen} lut={lut} domain={{ scale: 'log', vmax: 0.5, decades: 5 }} position={{ left: 0, top: 0 }} />);
    await flush();
    const text = container.textContent!;
    expect(text).toMatch(/query 700 ␣t700/);
    expect(text).toMatch(/key 40 ␣t40/);
    expect(text).toContain('attention mass 1.2% of each query\'s attention, peak weight 0.4%');
    expect(text).toContain('cell: queries 696–703 × keys 40–47');
    expect(text).toContain('skipped by the pattern: this mass is lost');
    expect(text).toContain('chosen vertical column: key 41');
    expect(container.querySelector('mark')?.textContent).toBe(' t700');
    // Two blocks of 256 tokens, not the whole prompt.
    expect(api.calls.filter((c) => c.method === 'capture.tokens').map((c) => c.params)).toEqual([
      { captureId: FAKE_SAMPLE.captureId, start: 512, end: 768 },
      { captureId: FAKE_SAMPLE.captureId, start: 0, end: 256 },
    ]);
  });

  it('says a key after the query is never attended to, and reads without tokens', async () => {
    await render(<HeatmapReadout readout={{ ...readout, row: 10, col: 40, future: true, vertical: null }} tokens={null} seqLen={2048} lut={lut} domain={null} position={{}} />);
    expect(container.textContent).toContain('above the diagonal: a query never attends to later keys');
    expect(container.textContent).not.toContain('attention mass');
  });

  it('counts the chosen lines and says when they are too close to draw', async () => {
    await render(<MapLegend lut={lut} veilOpacity={0.5} mask vertical={{ chosen: 300, drawn: 0 }} slash={{ chosen: 1, drawn: 1 }} strip />);
    const text = container.textContent!;
    expect(text).toContain('300 chosen columns (zoom in to draw them apart)');
    expect(text).toContain('1 chosen diagonal');
    expect(text).toContain('recall per query row');
  });
});
