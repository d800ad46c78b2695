/**
 * Runs async critical sections one at a time, in call order. A failing
 * section does not poison the ones queued behind it. Used wherever
 * check-then-act must be atomic in-process (image store, snapshotter,
 * each container's lifecycle).
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {});
    return result;
  }
}
