// Index helpers shared by tools/gpu-tests.js and bench/gpu.js: MInference's
// convert_vertical_slash_indexes written from spec 2.1 step 5, and a whole-layer index in the
// SparseIndex format (electron/engine/native-api.ts) built from given verticals and offsets.

/** Tiles and loose columns of query block `block` for ascending `verticals` and `slashes`. */
export function convertVerticalSlash(verticals, slashes, block) {
  const end = block * 64 + 64; // not clipped to N, like MInference and the CPU builder
  const tiles = [];
  const columns = [];
  const windows = [...slashes].filter((o) => o < end).reverse().map((o) => Math.max(end - o, 64));
  let v = 0;
  for (let s = 0; s < windows.length; ) {
    let rangeEnd = windows[s++];
    const rangeStart = rangeEnd - 64;
    while (s < windows.length && windows[s] <= rangeEnd + 64) {
      if (windows[s] > rangeEnd) rangeEnd += 64;
      s += 1;
    }
    while (v < verticals.length && verticals[v] < rangeStart) columns.push(verticals[v++]);
    while (v < verticals.length && verticals[v] < rangeEnd) v += 1;
    for (let start = rangeStart; start < rangeEnd; start += 64) tiles.push(start);
  }
  return { tiles, columns };
}

/** A SparseIndex whose every head has the lists `blockLists(m)` ({ tiles, columns }) per query block m. */
export function listIndex(numHeads, seqLen, blockLists) {
  const numBlocks = Math.ceil(seqLen / 64);
  const blocks = Array.from({ length: numBlocks }, (_, m) => blockLists(m));
  const headTiles = blocks.reduce((sum, b) => sum + b.tiles.length, 0);
  const headColumns = blocks.reduce((sum, b) => sum + b.columns.length, 0);
  const index = {
    numHeads,
    seqLen,
    numBlocks,
    tileOffsets: new Int32Array(numHeads * numBlocks + 1),
    tileStarts: new Int32Array(numHeads * headTiles),
    colOffsets: new Int32Array(numHeads * numBlocks + 1),
    columns: new Int32Array(numHeads * headColumns),
    window: new Int32Array(numHeads * 2).fill(-1),
    verticalOffsets: new Int32Array(numHeads + 1),
    verticals: new Int32Array(0),
    slashOffsets: new Int32Array(numHeads + 1),
    slashes: new Int32Array(0),
    density: new Float64Array(numHeads),
    ms: 0,
  };
  let tile = 0;
  let column = 0;
  for (let h = 0; h < numHeads; h += 1)
    blocks.forEach((block, m) => {
      index.tileStarts.set(block.tiles, tile);
      index.columns.set(block.columns, column);
      tile += block.tiles.length;
      column += block.columns.length;
      index.tileOffsets[h * numBlocks + m + 1] = tile;
      index.colOffsets[h * numBlocks + m + 1] = column;
    });
  return index;
}

/** The same vertical_and_slash choice for every head of a layer, as a SparseIndex. */
export function verticalSlashIndex(numHeads, seqLen, verticals, slashes) {
  return listIndex(numHeads, seqLen, (m) => convertVerticalSlash(verticals, slashes, m));
}
