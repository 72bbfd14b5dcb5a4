import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './api/client';
import { StoreProvider } from './state/context';
import { guardUnload } from './state/session';
import { createAppStore, errorMessage } from './state/store';
import { App } from './views/App';
import { ErrorBoundary } from './views/Chrome';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

try {
  const api = createApi();
  const store = createAppStore(api, { storage: window.localStorage });
  createRoot(root).render(
    <StrictMode>
      <ErrorBoundary label="app">
        <StoreProvider store={store} api={api}>
          <App />
        </StoreProvider>
      </ErrorBoundary>
    </StrictMode>,
  );
  guardUnload(window, store);
  void store.getState().init();
} catch (error) {
  // Without an engine connection there is nothing to render; say why instead of a blank page.
  const message = document.createElement('div');
  message.className = 'fatal';
  message.setAttribute('role', 'alert');
  message.textContent = `Sparsescope cannot start: ${errorMessage(error)}`;
  root.replaceChildren(message);
}
