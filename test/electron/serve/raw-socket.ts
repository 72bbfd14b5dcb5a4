/**
 * A WebSocket client at the byte level, for sending the frames a real client never would:
 * `openRawSocket` does the HTTP upgrade by hand, `frame` builds any frame (bad bits included),
 * and `closeCode` waits for the server's close frame or the connection's end.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  socket: Socket;
  /** Bytes the server sent after its 101 reply. */
  received(): Buffer;
  /** Resolves when the connection has ended (either side). */
  ended: Promise<void>;
}

/**
 * Upgrade to a WebSocket on `path` (token in the query) and resolve once the server said 101.
 * `early` bytes go out with the handshake, before the server has answered it.
 */
export function openRawSocket(port: number, path: string, early?: Buffer): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const ended = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined); // a reset after a bad frame is an expected end, seen through `ended`
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (upgraded) return;
      const headerEnd = buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = buffer.subarray(0, headerEnd).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      upgraded = true;
      buffer = buffer.subarray(headerEnd + 4);
      resolve({ socket, received: () => buffer, ended });
    });
    socket.once('close', () => upgraded || reject(new Error('connection closed before the upgrade')));
    const handshake = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n');
    socket.write(Buffer.concat([Buffer.from(handshake), early ?? Buffer.alloc(0)]));
  });
}

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number. */
  rsv?: number;
  /** Clients must mask; false sends the payload in the clear. */
  masked?: boolean;
  /** The 4-byte masking key (default random). */
  mask?: Uint8Array;
  /** The length written in the header, when it should differ from the payload's (up to 2^64 - 1). */
  declaredLength?: number | bigint;
}

/** One frame's bytes, as RFC 6455 section 5.2 lays them out (lies in the header allowed). */
export function frame({ opcode, payload = new Uint8Array(0), fin = true, rsv = 0, masked = true, mask = randomBytes(4), declaredLength = payload.length }: FrameSpec): Buffer {
  const first = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (declaredLength < 126) header = Buffer.from([first, maskBit | Number(declaredLength)]);
  else if (declaredLength < 0x10000) {
    header = Buffer.alloc(4);
    header.writeUInt16BE(Number(declaredLength), 2);
    header[1] = maskBit | 126;
  } else {
    header = Buffer.alloc(10);
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
    header[1] = maskBit | 127;
  }
  header[0] = first;
  if (!masked) return Buffer.concat([header, payload]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([header, mask, body]);
}

/** Server frames (never masked) in `bytes`, as far as they are complete. */
export function serverFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode: bytes[at]! & 0x0f, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** The close code the server sent before the connection ended; null when it sent none. */
export async function closeCode(raw: RawSocket): Promise<number | null> {
  await raw.ended;
  const close = serverFrames(raw.received()).find((f) => f.opcode === 0x8);
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
}

/** Send `text` as it is (a hand-made request) and resolve with the status line of the reply. */
export function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(reply.split('\r\n')[0]!));
  });
}
