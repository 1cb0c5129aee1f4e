// Form checks for the setup screen, mirrored from the vault's own rules (the vault checks again).
export const MIN_PASSPHRASE_CHARS = 8;

export type PassphraseProblem = "too_short" | "mismatch" | null;

/** What is wrong with a new passphrase and its confirmation, if anything. */
export function passphraseProblem(value: string, confirm: string): PassphraseProblem {
  if ([...value].length < MIN_PASSPHRASE_CHARS) return "too_short";
  if (value !== confirm) return "mismatch";
  return null;
}

/** Throttles a function to at most one call per `ms` (used for activity pings). */
export function throttle(fn: () => void, ms: number, now: () => number = Date.now): () => void {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last >= ms) {
      last = t;
      fn();
    }
  };
}
