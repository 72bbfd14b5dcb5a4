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
  /** The head's pattern colour as a corner mark, when the fill shows a measure. */
  mark: string | null;
  /** The measure's value written in the cell where it fits, and a colour that reads on the fill. */
  label: string | null;
  labelColour: string;
  /** Dimmed cells are filtered out of the list. */
  dimmed: boolean;
  /** Low recall gets a marker so weak heads stand out in any pattern colour. */
  warn: boolean;
  selected: boolean;
  focused: boolean;
}

/** Cells this wide or more carry their measure's value as text. */
export const LABEL_MIN_CELL = 40;

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
      if (style.mark && cell >= 10) {
        const corner = Math.max(5, Math.round(cell * 0.32));
        context.fillStyle = style.mark;
        context.beginPath();
        context.moveTo(x + gap, y + gap);
        context.lineTo(x + gap + corner, y + gap);
        context.lineTo(x + gap, y + gap + corner);
        context.fill();
      }
      if (style.label && cell >= LABEL_MIN_CELL) {
        context.fillStyle = style.labelColour;
        context.textAlign = 'center';
        context.fillText(style.label, x + cell / 2, y + cell / 2 + 2);
      }
      context.globalAlpha = 1;
      if (style.warn && !style.dimmed) {
        context.fillStyle = colours.warn;
        const dot = Math.max(3, cell / 3);
        context.fillRect(x + cell - dot - gap, y + gap, dot, dot);
      }
      if (style.selected || style.focused) {
        // A ring of the focus colour inside one of the background's, so it shows on any fill.
        context.lineWidth = style.focused ? 2 : 1;
        context.strokeStyle = colours.focus;
        context.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
        context.strokeStyle = colours.background;
        context.strokeRect(x + 1 + context.lineWidth, y + 1 + context.lineWidth, cell - 2 - 2 * context.lineWidth, cell - 2 - 2 * context.lineWidth);
      }
    }
  });
}
