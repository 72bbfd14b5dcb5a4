// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../contract/api';
import { handleDroppedFile } from '../../../renderer/src/views/drop';
import { FilesView } from '../../../renderer/src/views/FilesView';
import type { SparsescopeBridge } from '../../../renderer/src/api/preload';
import { byTestId, click, flush, mount, typeInto, type Mounted } from '../dom.js';
import { FAKE_CAPTURE } from '../fake-api.js';

describe('Files', () => {
  let mounted: Mounted;
  let downloads: { name: string; blob: Blob }[];

  beforeEach(() => {
    downloads = [];
    const blobs = new Map<string, Blob>();
    URL.createObjectURL = (blob: Blob) => {
      const url = `blob:${blobs.size}`;
      blobs.set(url, blob);
      return url;
    };
    URL.revokeObjectURL = () => undefined;
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push({ name: this.download, blob: blobs.get(this.href)! });
    });
  });

  afterEach(() => {
    mounted?.unmount();
    vi.restoreAllMocks();
  });

  it('exports MInference JSON through the engine and downloads it in a browser', async () => {
    mounted = await mount(<FilesView />);
    await click(byTestId(mounted.container, 'export-minference'));
    await flush();
    const call = mounted.api.calls.find((c) => c.method === 'config.export');
    expect(call?.params).toMatchObject({ format: 'minference', captureId: 'cap-1' });
    expect(call?.params).not.toHaveProperty('path');
    expect(downloads.map((d) => d.name)).toEqual(['demo.minference.json']);
    expect(JSON.parse(await downloads[0]!.blob.text())).toMatchObject({ format: 'minference' });
  });

  it('offers every format the engine writes, DuoAttention as a TSV', async () => {
    mounted = await mount(<FilesView />);
    await click(byTestId(mounted.container, 'export-duo'));
    await flush();
    expect(mounted.api.calls.find((c) => c.method === 'config.export')?.params).toMatchObject({ format: 'duo', captureId: 'cap-1' });
    expect(downloads.map((d) => [d.name, d.blob.type])).toEqual([['demo.full_attention_heads.tsv', 'text/tab-separated-values']]);
    for (const format of ['xattention', 'flexprefill', 'minference-attn']) expect(byTestId(mounted.container, `export-${format}`)).toBeTruthy();
  });

  it('tells the user why an export could not be written, and keeps the config (issue 10 fault test)', async () => {
    mounted = await mount(<FilesView />);
    const config = mounted.store.getState().config;
    mounted.api.failures.set('config.export', new ApiError('cannot write /data/cfg.json: no space left on the device (ENOSPC)', 'bad-request'));
    await click(byTestId(mounted.container, 'export-minference'));
    await flush();
    expect(mounted.store.getState().notices.at(-1)).toMatchObject({ level: 'error', message: expect.stringContaining('no space left on the device (ENOSPC)') });
    expect(downloads).toEqual([]);
    expect(mounted.store.getState().config).toBe(config);
  });

  it('opens a remote engine in a new window from Electron, and shows why a URL is refused', async () => {
    const openRemote = vi
      .fn()
      .mockResolvedValueOnce({ ok: false, error: { message: 'remote engine: gpu is not this machine; forward the port first', code: 'bad-request' } })
      .mockResolvedValueOnce({ ok: true, result: 'http://127.0.0.1:7700' });
    window.sparsescope = { host: 'electron', openRemote, openFileDialog: vi.fn() } as unknown as SparsescopeBridge;
    try {
      mounted = await mount(<FilesView />);
      const input = byTestId<HTMLInputElement>(mounted.container, 'remote-url');
      const connect = byTestId<HTMLButtonElement>(mounted.container, 'remote-connect');
      expect(connect.disabled).toBe(true);
      await typeInto(input, 'http://gpu:7700/?token=t');
      await click(connect);
      await flush();
      expect(openRemote).toHaveBeenLastCalledWith('http://gpu:7700/?token=t');
      expect(mounted.store.getState().notices.at(-1)).toMatchObject({ level: 'error', message: expect.stringMatching(/not this machine/) });
      await typeInto(input, 'http://127.0.0.1:7700/?token=t');
      await click(connect);
      await flush();
      expect(mounted.store.getState().notices.at(-1)).toMatchObject({ level: 'info', message: 'Opened the engine at http://127.0.0.1:7700 in a new window.' });
    } finally {
      delete window.sparsescope;
    }
  });

  it('says whether the capture holds tokens, and what made them', async () => {
    mounted = await mount(<FilesView />);
    expect(byTestId(mounted.container, 'capture-tokens').textContent).toBe('no');
    act(() => mounted.store.setState({ capture: { ...FAKE_CAPTURE, tokens: true, tokenizer: 'gpt2' } }));
    expect(byTestId(mounted.container, 'capture-tokens').textContent).toBe('yes (gpt2)');
  });

  it('offers no remote engine in a browser, which is already on one', async () => {
    mounted = await mount(<FilesView />);
    expect(mounted.container.querySelector('[data-testid=remote-engine]')).toBeNull();
  });

  it('downloads the per-head stats as CSV', async () => {
    mounted = await mount(<FilesView />);
    await click(byTestId(mounted.container, 'export-csv'));
    const lines = (await downloads[0]!.blob.text()).trim().split('\n');
    expect(downloads[0]!.name).toBe('demo-heads.csv');
    expect(lines).toHaveLength(1 + 12);
    expect(lines[1]).toMatch(/^0,0,vertical_and_slash,1000,6096,0\.\d+/);
  });

  it('opens a capture picked in the engine’s file browser', async () => {
    mounted = await mount(<FilesView />);
    await click(byTestId(mounted.container, 'open-capture'));
    const entry = [...byTestId(mounted.container, 'file-browser').querySelectorAll('button')].find((b) => b.textContent?.includes('demo.safetensors'));
    await click(entry!);
    expect(mounted.api.calls.find((c) => c.method === 'capture.open')?.params).toEqual({ path: '/data/demo.safetensors' });
    expect(mounted.container.querySelector('[data-testid=file-browser]')).toBeNull();
  });

  it('imports a dropped config by its text, and explains why a dropped capture cannot open in a browser', async () => {
    mounted = await mount(<FilesView />);
    const actions = mounted.store.getState();
    const heads = JSON.stringify([0, 1, 2].map(() => [0, 1, 2, 3].map(() => ({ pattern: 'dense', a: 0, b: 0 }))));
    await act(async () => handleDroppedFile(new File([heads], 'cfg.json'), actions));
    const captureId = mounted.store.getState().capture!.captureId;
    expect(mounted.api.calls.find((c) => c.method === 'config.import')?.params).toEqual({ captureId, text: heads, fileName: 'cfg.json' });
    const duo = '# sink_size 64 recent_size 256\n1\t0\n';
    await act(async () => handleDroppedFile(new File([duo], 'full_attention_heads.tsv'), actions));
    expect(mounted.api.calls.filter((c) => c.method === 'config.import').at(-1)?.params).toEqual({ captureId, text: duo, fileName: 'full_attention_heads.tsv' });
    await act(async () => handleDroppedFile(new File(['x'], 'big.safetensors'), actions));
    expect(mounted.store.getState().notices.at(-1)?.message).toMatch(/^big\.safetensors: a browser does not reveal where a dropped file lives/);
    await act(async () => handleDroppedFile(new File(['x'], 'notes.txt'), actions));
    expect(mounted.store.getState().notices.at(-1)?.message).toBe("notes.txt: not a capture (.safetensors) or a head config (.json, or DuoAttention's .tsv).");
  });
});
