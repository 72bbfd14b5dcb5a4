/** Layer and head selectors with previous/next, for views that work on the focused head. */
import { useApp } from '../state/context';

export function HeadPicker() {
  const capture = useApp((s) => s.capture);
  const focus = useApp((s) => s.focus);
  const focusHead = useApp((s) => s.focusHead);
  if (!capture) return null;
  const layers = capture.layers;
  const step = (delta: number) => {
    const flat = layers.indexOf(focus.layer) * capture.numHeads + focus.head + delta;
    const total = layers.length * capture.numHeads;
    const index = ((flat % total) + total) % total;
    focusHead({ layer: layers[Math.floor(index / capture.numHeads)]!, head: index % capture.numHeads });
  };
  return (
    <div className="controls head-picker">
      <button type="button" onClick={() => step(-1)} title="Previous head ([)" aria-label="Previous head">
        ‹
      </button>
      <label>
        Layer
        <select value={focus.layer} onChange={(e) => focusHead({ layer: Number(e.target.value), head: focus.head })} data-testid="pick-layer">
          {layers.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <label>
        Head
        <select value={focus.head} onChange={(e) => focusHead({ layer: focus.layer, head: Number(e.target.value) })} data-testid="pick-head">
          {Array.from({ length: capture.numHeads }, (_, h) => (
            <option key={h} value={h}>
              {h}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={() => step(1)} title="Next head (])" aria-label="Next head">
        ›
      </button>
    </div>
  );
}
