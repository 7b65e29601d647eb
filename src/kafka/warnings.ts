/**
 * kafkajs 2.2.4's request queue schedules its throttle check with `setTimeout(fn, throttledUntil -
 * Date.now())` while `throttledUntil` is still -1, so on Node 22+ every connection prints
 * `TimeoutNegativeWarning: -17... is a negative number` on stderr (tulios/kafkajs#1751). Node then
 * waits 1 ms, which is what kafkajs means, so the warning is pure noise, and in a privileged
 * service's stderr noise hides what matters. Only that warning, raised from that file, is dropped;
 * every other warning (and that warning from any other caller) goes through.
 */

type EmitWarning = typeof process.emitWarning;

// The frame of the offending call: kafkajs/src/network/requestQueue/index.js, any path separator.
const REQUEST_QUEUE_FRAME = /kafkajs[\\/]src[\\/]network[\\/]requestQueue[\\/]/;

/**
 * True for the one warning this module drops, judged by its type and the stack that raised it.
 * `typeOrOptions` is `emitWarning`'s second argument: a type string or `{ type }`.
 */
export function isKafkajsNegativeTimeoutWarning(warning: unknown, typeOrOptions: unknown, stack: string | undefined): boolean {
  const type =
    typeOrOptions !== null && typeof typeOrOptions === 'object' ? (typeOrOptions as { type?: unknown }).type : typeOrOptions;
  const name = warning instanceof Error ? warning.name : type;
  return name === 'TimeoutNegativeWarning' && stack !== undefined && REQUEST_QUEUE_FRAME.test(stack);
}

/**
 * Wraps `emitWarning` so that the kafkajs negative-timeout warning is dropped. Pure on the object
 * it is given (tests pass their own); returns the wrapper.
 */
export function filterKafkajsWarnings(original: EmitWarning): EmitWarning {
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    // The caller's frames: Node raises the warning synchronously inside setTimeout.
    if (isKafkajsNegativeTimeoutWarning(warning, rest[0], new Error().stack)) return;
    (original as (this: unknown, ...args: unknown[]) => void).call(this, warning, ...rest);
  };
  return filtered as EmitWarning;
}

let installed = false;

/** Installs the filter on this process once (called whenever a kafkajs client is made). */
export function silenceKafkajsTimeoutWarning(): void {
  if (installed) return;
  installed = true;
  process.emitWarning = filterKafkajsWarnings(process.emitWarning);
}
