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

  it('writes the tokenizer into the metadata when given', () => {
    const metadata = JSON.parse(python('import json, capture_hf; print(json.dumps(capture_hf.build_metadata("m", 1, 2, 1, 64, 8, "s", tokenizer="tok")))'));
    expect(metadata.tokenizer).toBe('tok');
  });

  it('names a local model folder by its name, a hub id as given', () => {
    expect(python('import capture_hf; print(capture_hf.model_label("../tools"), capture_hf.model_label("org/model"))').trim()).toBe('tools org/model');
  });

  // A byte-level decoder: bytes -> UTF-8 with replacement, and a SentencePiece-like one that drops
  // the leading space of a text decoded from its first token, as real tokenizers do.
  const decoders = `
def byte_decode(batch, vocab):
    return [bytes(vocab[i] for i in ids).decode("utf-8", errors="replace") for ids in batch]
def sp_decode(batch, words):
    return ["".join(words[i] for i in ids).lstrip(" ") for ids in batch]
`;

  it('splits token text by common prefix, keeping a split UTF-8 character whole in its last byte', () => {
    const out = python(`import json, capture_hf
${decoders}
text = "aéb".encode()
ids = list(range(len(text)))
pieces = capture_hf.token_pieces(ids, lambda batch: byte_decode(batch, text))
print(json.dumps(pieces))`);
    expect(JSON.parse(out)).toEqual(['a', '�', 'é', 'b']);
  });

  it('keeps the leading space a tokenizer drops when a word is decoded alone', () => {
    const out = python(`import json, capture_hf
${decoders}
words = ["Hello", " world", " again"]
print(json.dumps(capture_hf.token_pieces([0, 1, 2], lambda batch: sp_decode(batch, words))))`);
    expect(JSON.parse(out)).toEqual(['Hello', ' world', ' again']);
  });

  it('lays token text out as UTF-8 bytes with N + 1 offsets', () => {
    const out = python('import json, capture_hf; ids, offsets, data = capture_hf.token_arrays([7, 8, 9], ["a", "é", ""]); print(json.dumps([ids, offsets, list(data)]))');
    expect(JSON.parse(out)).toEqual([[7, 8, 9], [0, 1, 3, 3], [0x61, 0xc3, 0xa9]]);
  });

  it('takes the prompt from --text or --prompt-file, not both', () => {
    const usage = (args: string): string => {
      try {
        return python(`import capture_hf; capture_hf.main(${args})`);
      } catch (error) {
        return String((error as { stderr?: string }).stderr);
      }
    };
    expect(usage('["--model", "m", "--out", "o", "--text", "t", "--prompt-file", "f"]')).toMatch(/not allowed with argument/);
    expect(usage('["--model", "m", "--out", "o"]')).toMatch(/one of the arguments --prompt-file --text is required/);
  });

  it('refuses transformers older than 4.53', () => {
    expect(python('import capture_hf\ntry: capture_hf._check_transformers_version("4.51.3")\nexcept ValueError as e: print(e)\ncapture_hf._check_transformers_version("5.1.0")').trim()).toBe(
      'transformers 4.51.3 is too old: this helper needs >= 4.53',
    );
  });
});
