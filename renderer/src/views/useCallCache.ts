/**
 * Engine calls by key, each made once while it is wanted and kept: a view showing several patterns
 * of a head asks again only for the one that changed, and a head visited before comes back at once.
 * A call cancelled by a newer one (its staleKey) is asked again while still wanted, not shown as an
 * error; a failure is kept while shown and asked again when next wanted.
 */
import { useEffect, useReducer, useRef } from 'react';
import { ApiError } from '../../../contract/api';
import { errorMessage } from '../state/store';

export type CallResult<T> = { value: T } | { error: string };

export interface KeyedCall<T> {
  key: string;
  run: () => Promise<T>;
}

/** How many results are kept: a few heads' worth of every method. */
const KEEP = 256;
/** Times a key still wanted is asked again after a cancellation, until the wanted keys change (an engine that keeps cancelling must not make a loop). */
const RETRIES = 2;

export function useCallCache<T>(calls: KeyedCall<T>[]): (key: string) => CallResult<T> | undefined {
  const results = useRef(new Map<string, CallResult<T>>());
  const asked = useRef(new Set<string>());
  const retries = useRef({ wanted: '', counts: new Map<string, number>() });
  const [, arrived] = useReducer((n: number) => n + 1, 0);
  // Bumped when a call was cancelled, so a key still wanted is asked again.
  const [cancellations, cancelled] = useReducer((n: number) => n + 1, 0);
  // A reply re-renders whichever keys are wanted by then (it may arrive after they changed).
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const wanted = calls.map((call) => call.key).join('\n');

  useEffect(() => {
    if (retries.current.wanted !== wanted) {
      retries.current = { wanted, counts: new Map() };
      // Failures are asked again once wanted again: what failed may have been passing (a worker restarted).
      for (const [key, result] of results.current) if ('error' in result && !calls.some((call) => call.key === key)) results.current.delete(key);
    }
    for (const { key, run } of calls) {
      if (results.current.has(key) || asked.current.has(key)) continue;
      asked.current.add(key);
      run()
        .then((value) => keep(key, { value }))
        .catch((error: unknown) => {
          const tries = retries.current.counts.get(key) ?? 0;
          if (!(error instanceof ApiError && error.code === 'cancelled') || tries >= RETRIES) return keep(key, { error: errorMessage(error) });
          retries.current.counts.set(key, tries + 1);
          asked.current.delete(key);
          if (mounted.current) cancelled();
        })
        .finally(() => {
          asked.current.delete(key);
          if (mounted.current) arrived();
        });
    }
    // `wanted` stands for the calls' keys: new closures with the same keys ask nothing new.
  }, [wanted, cancellations]);

  function keep(key: string, result: CallResult<T>): void {
    results.current.set(key, result);
    if (results.current.size > KEEP) results.current.delete(results.current.keys().next().value!);
  }

  return (key) => results.current.get(key);
}
