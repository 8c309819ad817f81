/**
 * One-at-a-time access for async work: the vault's keychain writes and their store rows must not interleave, or
 * a reader could see a rotation half done.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `work` once every earlier caller has finished, and returns its result. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
