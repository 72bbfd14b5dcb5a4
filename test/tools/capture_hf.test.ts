/**
 * The Hugging Face capture helper cannot run here (no torch); check that it compiles and that its
 * torch-free parts (layer ranges, metadata) agree with what openCapture expects.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPTURE_FORMAT } from '../../electron/engine/capture/capture.js';

const toolsDir = resolve(import.meta.dirname, '../../tools');

function python(code: string): string {
  return execFileSync('python3', ['-c', code], { cwd: toolsDir, encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
}

describe('tools/capture_hf.py', () => {
  it('compiles', () => {
    expect(python('compile(open("capture_hf.py").read(), "capture_hf.py", "exec"); print("ok")').trim()).toBe('ok');
  });

  it('writes the metadata of spec 3.1', () => {
    const metadata = JSON.parse(python('import json, capture_hf; print(json.dumps(capture_hf.build_metadata("m", 32, 32, 8, 128, 131072, "book")))'));
    expect(metadata).toEqual({
      format: CAPTURE_FORMAT,
      model: 'm',
      num_layers: '32',
      num_heads: '32',
      num_kv_heads: '8',
      head_dim: '128',
      seq_len: '131072',
      rope_applied: 'true',
      source: 'book',
    });
  });

  it('parses layer ranges and names bad ones', () => {
    expect(python('import capture_hf; print(capture_hf.parse_layers("0-2,7", 8), capture_hf.parse_layers("all", 3))').trim()).toBe('[0, 1, 2, 7] [0, 1, 2]');
    const bad = python('import capture_hf\nfor t in ["9", "2-1", "x"]:\n  try: capture_hf.parse_layers(t, 8)\n  except ValueError as e: print(e)');
    expect(bad.trim().split('\n')).toEqual(["--layers: '9' is outside 0..7", "--layers: '2-1' is outside 0..7", "--layers: 'x' is not a layer or a range A-B"]);
  });

  it('refuses transformers older than 4.53', () => {
    expect(python('import capture_hf\ntry: capture_hf._check_transformers_version("4.51.3")\nexcept ValueError as e: print(e)\ncapture_hf._check_transformers_version("5.1.0")').trim()).toBe(
      'transformers 4.51.3 is too old: this helper needs >= 4.53',
    );
  });
});
