/** Compile inline pipeline specs for tests; a spec that does not compile fails the test with its issues. */
import { compilePipeline, formatIssues, type CompileOptions, type Plan } from '../../schemas';

export function plan(spec: unknown, opts: CompileOptions = {}): Plan {
  const res = compilePipeline(spec, opts);
  if (!res.ok) throw new Error(formatIssues('<test spec>', res.issues));
  return res.plan;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
