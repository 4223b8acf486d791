/** A deadline on a promise: the client bounds the wait for IndexedDB, a token and the tab group's code with it. */

/** `promise`, or a rejection with `message` if it has not settled within `ms`. */
export function settleWithin<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
