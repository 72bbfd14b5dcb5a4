/**
 * What the user is looking at, in words: the capture (real text or synthetic planted patterns) and
 * where its config came from, for the overview's caption; what a head's map on screen is made of.
 */
import { headRecallFloor, MINFERENCE_DEFAULT_HEAD, type CaptureSummary, type Region, type SearchResult } from '../../../contract/api';
import type { ShownMap } from './useHeatmapLayers';
import { fmtPercent, plural } from './format';

export function captureSubject(capture: Pick<CaptureSummary, 'model' | 'source' | 'planted' | 'tokens' | 'seqLen'>): string {
  if (capture.planted) return `Synthetic attention with planted patterns (sinks, local windows, vertical and diagonal lines, blocks) over ${plural(capture.seqLen, 'token')}`;
  return `Attention of ${capture.model} reading ${capture.source}`;
}

export interface ConfigFacts {
  seqLen: number;
  /** The config is MInference's default for every head. */
  isDefault: boolean;
  searched: SearchResult | null;
  searching: boolean;
  tuned: number;
}

export function configStory({ seqLen, isDefault, searched, searching, tuned }: ConfigFacts): string {
  const byHand = tuned > 0 ? `; ${plural(tuned, 'head')} tuned by hand` : '';
  if (searched) {
    const { settings } = searched;
    const how =
      settings.mode === 'candidates'
        ? "Each head runs the best of MInference's candidate patterns"
        : settings.recallScope === 'layer'
          ? `Each layer's heads keep ${fmtPercent(settings.targetRecall, 0)} of their attention on average (recall ${settings.targetRecall}, no head below ${headRecallFloor(settings)}) at the cheapest mix of budgets`
          : `Each head runs the cheapest pattern that keeps ${fmtPercent(settings.targetRecall, 0)} of its attention (recall ${settings.targetRecall})`;
    return `${how}${byHand}.`;
  }
  if (searching) return `Searching each head's cheapest pattern… until then, MInference's default config${byHand}.`;
  if (isDefault) {
    const coversAll = MINFERENCE_DEFAULT_HEAD.b >= seqLen;
    return coversAll
      ? `MInference's default config (Vertical-Slash ${MINFERENCE_DEFAULT_HEAD.a}/${MINFERENCE_DEFAULT_HEAD.b}) computes every entry at ${plural(seqLen, 'token')}, so every head reads recall 1: run Search to find sparse patterns${byHand}.`
      : `MInference's default config (Vertical-Slash ${MINFERENCE_DEFAULT_HEAD.a}/${MINFERENCE_DEFAULT_HEAD.b}) on every head${byHand}.`;
  }
  return `An imported config${byHand}.`;
}

/** What the caption says about the map on screen; it follows the zoom. A preview says only what a cell is. */
export function mapCaption(shown: ShownMap | null, visible: Region, seqLen: number, paintMs: number | null, full: boolean): string {
  if (!shown) return '';
  const tokensPerCell = Math.max(1, Math.round((shown.region.colEnd - shown.region.colStart) / shown.cols));
  const where = visible.rowEnd - visible.rowStart >= seqLen ? `all ${plural(seqLen, 'token')}` : `queries ${visible.rowStart.toLocaleString()}–${visible.rowEnd.toLocaleString()} × keys ${visible.colStart.toLocaleString()}–${visible.colEnd.toLocaleString()}`;
  const cells = `${shown.cols}² cells of ${plural(tokensPerCell, 'token')}`;
  const timing = `${plural(shown.rowsUsed, 'sampled row')} · ${shown.backend} ${shown.ms.toFixed(0)} ms${paintMs !== null ? ` · paint ${paintMs.toFixed(1)} ms` : ''}`;
  return full ? `${where} · ${cells} · ${timing}` : cells;
}
