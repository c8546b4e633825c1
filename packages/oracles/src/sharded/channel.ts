/**
 * A synchronous request/response channel over shared memory (Atomics), so a synchronous oracle API can drive
 * worker threads: the caller posts to every worker, then blocks until each has answered.
 * Layout: ctrl = [request seq, response seq, request bytes, response bytes]; text = JSON payload;
 * floats = bulk image data (x and q of the worker's shards).
 */
export interface ChannelBuffers {
  ctrl: SharedArrayBuffer;
  text: SharedArrayBuffer;
  floats: SharedArrayBuffer;
}

export function channelBuffers(textBytes: number, floatCount: number): ChannelBuffers {
  return { ctrl: new SharedArrayBuffer(16), text: new SharedArrayBuffer(textBytes), floats: new SharedArrayBuffer(Math.max(4, 4 * floatCount)) };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Channel {
  private readonly ctrl: Int32Array;
  private readonly text: Uint8Array;
  readonly floats: Float32Array;
  private seq = 0;

  constructor(b: ChannelBuffers) {
    this.ctrl = new Int32Array(b.ctrl);
    this.text = new Uint8Array(b.text);
    this.floats = new Float32Array(b.floats);
  }

  private write(obj: unknown, slot: 2 | 3): void {
    const bytes = encoder.encode(JSON.stringify(obj));
    if (bytes.length > this.text.length) throw new Error(`worker message of ${bytes.length} bytes exceeds the ${this.text.length}-byte channel`);
    this.text.set(bytes);
    Atomics.store(this.ctrl, slot, bytes.length);
  }

  private read(slot: 2 | 3): unknown {
    // TextDecoder cannot read shared memory directly: copy first.
    return JSON.parse(decoder.decode(this.text.slice(0, Atomics.load(this.ctrl, slot))));
  }

  /** Caller: sends a request (returns at once). */
  post(request: unknown): void {
    this.write(request, 2);
    this.seq++;
    Atomics.store(this.ctrl, 0, this.seq);
    Atomics.notify(this.ctrl, 0);
  }

  /** Caller: blocks until the last request is answered; rethrows a worker error. */
  wait(): unknown {
    while (Atomics.load(this.ctrl, 1) !== this.seq) Atomics.wait(this.ctrl, 1, Atomics.load(this.ctrl, 1), 1000);
    const r = this.read(3) as { error?: string; result?: unknown };
    if (r.error) throw new Error(`worker: ${r.error}`);
    return r.result;
  }

  /** Worker: answers requests forever. */
  serve(handle: (request: unknown) => unknown): never {
    let seen = 0;
    for (;;) {
      Atomics.wait(this.ctrl, 0, seen);
      seen = Atomics.load(this.ctrl, 0);
      let response: unknown;
      try {
        response = { result: handle(this.read(2)) };
      } catch (e) {
        response = { error: (e as Error).stack ?? String(e) };
      }
      this.write(response, 3);
      Atomics.store(this.ctrl, 1, seen);
      Atomics.notify(this.ctrl, 1);
    }
  }
}
