import { useEffect, useRef, useState, type RefObject } from 'react';

/**
 * The content width of the element given the returned ref, in whole pixels and at least `min`,
 * following its resizes; `initial` until the first measure.
 */
export function useContentWidth<E extends HTMLElement = HTMLDivElement>(min: number, initial: number): [RefObject<E | null>, number] {
  const ref = useRef<E>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(Math.max(min, Math.floor(entry.contentRect.width))));
    observer.observe(element);
    return () => observer.disconnect();
  }, [min]);
  return [ref, width];
}
