import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { Api } from '../../../contract/api';
import type { AppActions, AppState, AppStore } from './store';

interface Context {
  store: AppStore;
  api: Api;
}

const StoreContext = createContext<Context | null>(null);

export function StoreProvider({ store, api, children }: Context & { children: ReactNode }) {
  return <StoreContext.Provider value={{ store, api }}>{children}</StoreContext.Provider>;
}

function useContextValue(): Context {
  const value = useContext(StoreContext);
  if (!value) throw new Error('StoreProvider is missing above this component');
  return value;
}

/** Select a slice of the app state; re-renders only when the slice changes. */
export function useApp<T>(selector: (state: AppState & AppActions) => T): T {
  return useStore(useContextValue().store, selector);
}

export function useAppStore(): AppStore {
  return useContextValue().store;
}

/** For views that call per-head methods directly (maps, masks, evaluations). */
export function useApi(): Api {
  return useContextValue().api;
}
