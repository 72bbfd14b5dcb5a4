/** The four methods' colours, with how many heads each wins where a search compared them. */
import type { SearchMethod } from '../../../contract/api';
import { METHOD_HINT, METHOD_LABEL, SEARCH_METHODS } from '../state/methods';

export function MethodSwatch({ method }: { method: SearchMethod }) {
  return <span className={`swatch method-${method}`} aria-hidden="true" />;
}

export function MethodLegend({ counts, notCompared }: { counts?: Record<SearchMethod, number>; notCompared?: number }) {
  return (
    <ul className="legend" aria-label="Method colours" data-testid="method-legend">
      {SEARCH_METHODS.map((method) => (
        <li key={method} title={METHOD_HINT[method]}>
          <MethodSwatch method={method} /> {METHOD_LABEL[method]}
          {counts && <span className="muted"> {counts[method]}</span>}
        </li>
      ))}
      {notCompared !== undefined && notCompared > 0 && (
        <li>
          <span className="swatch unmeasured-swatch" aria-hidden="true" /> not compared <span className="muted">{notCompared}</span>
        </li>
      )}
    </ul>
  );
}
