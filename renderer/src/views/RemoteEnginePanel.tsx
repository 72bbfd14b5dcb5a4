import { useState, type FormEvent } from 'react';
import type { SparsescopeBridge } from '../api/preload';
import { useApp } from '../state/context';

/** Electron only: open the UI of a `sparsescope serve` engine (a GPU server's) in a new window. */
export function RemoteEnginePanel({ bridge }: { bridge: SparsescopeBridge }) {
  const { notify, reportError } = useApp((s) => s);
  const [url, setUrl] = useState('');
  const connect = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const reply = await bridge.openRemote(url);
      if (!reply.ok) return notify('error', reply.error.message);
      notify('info', `Opened the engine at ${String(reply.result)} in a new window.`);
    } catch (error) {
      reportError(error, 'opening the remote engine');
    }
  };
  return (
    <section className="panel" data-testid="remote-engine">
      <h2>Remote engine</h2>
      <p className="muted small">
        This window computes on this machine. To work on a GPU server, run <code>sparsescope serve --root DIR</code> there, forward its port (
        <code>ssh -L 7700:127.0.0.1:7700 gpu-server</code>) and paste the URL it printed.
      </p>
      <form className="button-row" onSubmit={(event) => void connect(event)}>
        <input
          type="url"
          aria-label="Engine URL"
          placeholder="http://127.0.0.1:7700/?token=…"
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          data-testid="remote-url"
        />
        <button type="submit" disabled={!url.trim()} data-testid="remote-connect">
          Open in a new window
        </button>
      </form>
    </section>
  );
}
