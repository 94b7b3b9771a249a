// Async work that must not interleave (one model, one run's controls, one client's inbox): each call starts once
// every earlier one has settled, and a failed call is its caller's to handle without stopping the ones after it.
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

export function serialQueue(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
