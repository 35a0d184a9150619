/** f(0..n-1) with at most `limit` calls in flight, results in index order. */
export async function mapLimit<T>(n: number, limit: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await f(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}
