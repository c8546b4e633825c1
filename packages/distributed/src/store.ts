import type { Redis } from 'ioredis';
import { BilevelError } from '@bilevel/core';

/**
 * Float32 arrays by key (warm starts, the shards' images). Keys are written once and never changed: a new value gets a
 * new key, so any worker reading a key sees the same numbers.
 */
export interface ArrayStore {
  put(key: string, data: Float32Array): Promise<void>;
  get(key: string): Promise<Float32Array>;
  /** Small JSON values (a run's setup). */
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T>;
  delete(keys: readonly string[]): Promise<void>;
}

/** A key the store does not have (never written, deleted with its run, or expired). */
export class MissingKeyError extends BilevelError {
  constructor(key: string) {
    super(`the engine has no value under "${key}"`, 'its run ended or its keys expired (BILEVEL_KEY_TTL); restart the run or resume it from its checkpoint');
  }
}

/** The arrays in this process (the in-process engine). */
export class MemoryStore implements ArrayStore {
  private readonly values = new Map<string, Float32Array | string>();

  async put(key: string, data: Float32Array): Promise<void> {
    this.values.set(key, data.slice());
  }

  async get(key: string): Promise<Float32Array> {
    const v = this.values.get(key);
    if (!(v instanceof Float32Array)) throw new MissingKeyError(key);
    return v.slice();
  }

  async putJson(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }

  async getJson<T>(key: string): Promise<T> {
    const v = this.values.get(key);
    if (typeof v !== 'string') throw new MissingKeyError(key);
    return JSON.parse(v) as T;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.values.delete(k);
  }

  get size(): number {
    return this.values.size;
  }
}

/** Seconds a key lives in Redis (BILEVEL_KEY_TTL, default 7 days): keys of a crashed run do not stay forever. */
export function keyTtl(env: NodeJS.ProcessEnv = process.env): number {
  const t = Number(env.BILEVEL_KEY_TTL ?? 7 * 86400);
  return Number.isInteger(t) && t > 0 ? t : 7 * 86400;
}

/** The arrays in Redis, as little-endian float32 bytes. */
export class RedisStore implements ArrayStore {
  constructor(private readonly redis: Redis, private readonly ttl = keyTtl()) {}

  async put(key: string, data: Float32Array): Promise<void> {
    await this.redis.set(key, Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'EX', this.ttl);
  }

  async get(key: string): Promise<Float32Array> {
    const b = await this.redis.getBuffer(key);
    if (!b) throw new MissingKeyError(key);
    // A copy: the Buffer may not be 4-byte aligned.
    const out = new Float32Array(b.byteLength / 4);
    new Uint8Array(out.buffer).set(b);
    return out;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.redis.set(key, JSON.stringify(value), 'EX', this.ttl);
  }

  async getJson<T>(key: string): Promise<T> {
    const v = await this.redis.get(key);
    if (v === null) throw new MissingKeyError(key);
    return JSON.parse(v) as T;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys);
  }
}
