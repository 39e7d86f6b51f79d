/**
 * Waiting for the first of several events of a stream without leaving
 * listeners behind (a `Promise.race` of `once()`s leaks the losers).
 */
import type { EventEmitter } from 'node:events';

export function firstOf(emitter: EventEmitter, events: string[]): Promise<string> {
  return new Promise((resolve) => {
    const handlers = events.map((name) => {
      const h = (): void => {
        events.forEach((n, i) => emitter.off(n, handlers[i]!));
        resolve(name);
      };
      emitter.on(name, h);
      return h;
    });
  });
}
