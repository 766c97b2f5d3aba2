/** A tiny bounded promise pool: no dependency, stops taking work on the first failure or when told to stop. */

/**
 * Runs `work` over `items` with at most `concurrency` in flight. The first failure stops new items from starting
 * and is rethrown once the in-flight ones have settled (so no upload is left running behind a failed activity).
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!firstError && !shouldStop() && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        firstError ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (firstError) throw firstError.error;
}
