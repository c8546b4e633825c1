import { UnrecoverableError } from 'bullmq';

/**
 * An error that fails a job at once, without retries. The name is made an own property: a sandboxed processor sends
 * only own properties to the main thread, where BullMQ recognises the error by its name.
 */
export function unrecoverable(message: string): UnrecoverableError {
  const e = new UnrecoverableError(message);
  Object.defineProperty(e, 'name', { value: 'UnrecoverableError', enumerable: true });
  return e;
}
