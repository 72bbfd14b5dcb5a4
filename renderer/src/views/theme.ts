import { useEffect, useState } from 'react';
import type { Rgba } from '../charts/colormap';
import type { ThemeChoice } from '../state/store';

const darkQuery = () => window.matchMedia?.('(prefers-color-scheme: dark)');

/** The theme in effect: the user's choice, or the system's when the choice is `system`. */
export function useResolvedTheme(choice: ThemeChoice): 'light' | 'dark' {
  const [systemDark, setSystemDark] = useState(() => darkQuery()?.matches ?? false);
  useEffect(() => {
    const query = darkQuery();
    if (!query) return;
    const onChange = () => setSystemDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
}

/** A CSS custom property of the root element, for canvas drawing that must follow the theme. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A CSS colour variable as RGBA bytes (canvas pixel buffers need numbers, not strings). */
export function cssColour(name: string, alpha = 255): Rgba {
  const probe = document.createElement('canvas').getContext('2d');
  if (!probe) return [0, 0, 0, alpha];
  probe.fillStyle = cssVar(name) || '#000';
  probe.fillRect(0, 0, 1, 1);
  const [r = 0, g = 0, b = 0] = probe.getImageData(0, 0, 1, 1).data;
  return [r, g, b, alpha];
}
