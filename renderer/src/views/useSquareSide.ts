/**
 * The side of the largest square that fits a wrapper once fixed margins and a footer (measured:
 * a legend may wrap to a second line) are taken out; re-measured whenever either resizes.
 */
import { useEffect, useState, type RefObject } from 'react';

export interface SquareMargins {
  /** Pixels beside the square (axes, strips, bars). */
  horizontal: number;
  /** Pixels above and below it, besides the footer. */
  vertical: number;
  /** Smallest side returned. */
  min: number;
}

export function useSquareSide(wrapperRef: RefObject<HTMLElement | null>, footerRef: RefObject<HTMLElement | null>, margins: SquareMargins): number {
  const [side, setSide] = useState(0);
  const { horizontal, vertical, min } = margins;
  useEffect(() => {
    const wrapper = wrapperRef.current;
    const footer = footerRef.current;
    if (!wrapper || !footer) return;
    const observer = new ResizeObserver(() => {
      const width = wrapper.clientWidth - horizontal;
      const height = wrapper.clientHeight - footer.offsetHeight - vertical;
      setSide(Math.max(min, Math.floor(Math.min(width, height))));
    });
    observer.observe(wrapper);
    observer.observe(footer);
    return () => observer.disconnect();
  }, [wrapperRef, footerRef, horizontal, vertical, min]);
  return side;
}
