import { describe, expect, it } from 'vitest';
import { WebSocketFrameCounter } from './tcp-proxy.ts';

/** A masked client frame (RFC 6455) with a payload of `length` bytes. */
function clientFrame(length: number): Buffer {
  const lengthBytes = length < 126 ? Buffer.from([0x80 | length]) : length < 65_536 ? Buffer.alloc(3) : Buffer.alloc(9);
  if (length >= 126 && length < 65_536) {
    lengthBytes[0] = 0x80 | 126;
    lengthBytes.writeUInt16BE(length, 1);
  } else if (length >= 65_536) {
    lengthBytes[0] = 0x80 | 127;
    lengthBytes.writeBigUInt64BE(BigInt(length), 1);
  }
  return Buffer.concat([Buffer.from([0x81]), lengthBytes, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 7)]);
}

describe('WebSocketFrameCounter', () => {
  it('finds every frame end, whatever the chunking', () => {
    const lengths = [0, 5, 125, 126, 300, 65_535, 65_536, 70_000, 1];
    const frames = lengths.map(clientFrame);
    const stream = Buffer.concat(frames);
    for (const chunkSize of [1, 2, 7, 1_000, 65_536, stream.length]) {
      const counter = new WebSocketFrameCounter();
      const seen: number[] = [];
      for (let offset = 0; offset < stream.length; offset += chunkSize)
        seen.push(...counter.feed(stream.subarray(offset, offset + chunkSize)));
      expect(seen, `chunks of ${chunkSize}`).toEqual(frames.map((frame) => frame.length));
    }
  });
});
