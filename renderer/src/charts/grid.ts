/** The layers x heads overview grid on a canvas: layout, drawing and hit testing. */
export interface GridLayout {
  layers: number[];
  numHeads: number;
  cell: number;
  /** Room for layer labels on the left and head labels on top. */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Cells as large as fit the box (both ways), between 6 and 56 pixels; past 6 the box scrolls. */
export function gridLayout(layers: number[], numHeads: number, availableWidth: number, availableHeight: number): GridLayout {
  const left = 34;
  const top = 18;
  const fitWidth = (availableWidth - left) / Math.max(1, numHeads);
  const fitHeight = (availableHeight - top) / Math.max(1, layers.length);
  const cell = Math.max(6, Math.min(56, Math.floor(Math.min(fitWidth, fitHeight))));
  return { layers, numHeads, cell, left, top, width: left + cell * numHeads, height: top + cell * layers.length };
}

export function cellAt(layout: GridLayout, x: number, y: number): { layer: number; head: number } | null {
  const column = Math.floor((x - layout.left) / layout.cell);
  const row = Math.floor((y - layout.top) / layout.cell);
  if (column < 0 || column >= layout.numHeads || row < 0 || row >= layout.layers.length) return null;
  return { layer: layout.layers[row]!, head: column };
}

export interface CellStyle {
  fill: string;
  /** Dimmed cells are filtered out of the list. */
  dimmed: boolean;
  /** Low recall gets a marker so weak heads stand out in any pattern colour. */
  warn: boolean;
  selected: boolean;
  focused: boolean;
}

export function drawGrid(context: CanvasRenderingContext2D, layout: GridLayout, styleOf: (layer: number, head: number) => CellStyle, colours: { text: string; warn: string; focus: string; background: string }): void {
  const { cell, left, top } = layout;
  context.fillStyle = colours.background;
  context.fillRect(0, 0, layout.width, layout.height);
  context.font = '10px system-ui, sans-serif';
  context.fillStyle = colours.text;
  context.textBaseline = 'middle';
  const labelEvery = Math.max(1, Math.ceil(12 / cell));
  context.textAlign = 'right';
  layout.layers.forEach((layer, row) => {
    if (row % labelEvery === 0) context.fillText(String(layer), left - 4, top + row * cell + cell / 2);
  });
  context.textAlign = 'center';
  for (let head = 0; head < layout.numHeads; head += Math.max(labelEvery, Math.ceil(20 / cell))) {
    context.fillText(String(head), left + head * cell + cell / 2, top / 2);
  }
  const gap = cell >= 10 ? 1 : 0;
  layout.layers.forEach((layer, row) => {
    for (let head = 0; head < layout.numHeads; head++) {
      const style = styleOf(layer, head);
      const x = left + head * cell;
      const y = top + row * cell;
      context.globalAlpha = style.dimmed ? 0.18 : 1;
      context.fillStyle = style.fill;
      context.fillRect(x + gap, y + gap, cell - 2 * gap, cell - 2 * gap);
      context.globalAlpha = 1;
      if (style.warn && !style.dimmed) {
        context.fillStyle = colours.warn;
        const dot = Math.max(3, cell / 3);
        context.fillRect(x + cell - dot - gap, y + gap, dot, dot);
      }
      if (style.selected || style.focused) {
        context.strokeStyle = colours.focus;
        context.lineWidth = style.focused ? 2 : 1;
        context.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
      }
    }
  });
}
