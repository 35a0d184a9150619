/** What every CLI command needs: the configuration, a client on demand, and uniform error exits. */
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { connectClient } from '../client/runs';
import { SpecError, formatIssues } from '../schemas';
import { loadConfig, ProfileError, type DaptConfig } from '../config';
import { ServerUnreachableError } from '../worker/errors';

export interface GlobalOptions {
  profile?: string;
  address?: string;
  namespace?: string;
  s3Endpoint?: string;
  bucket?: string;
}

/** Flags win over the environment, which wins over the profile (config/index.ts). */
export function configFrom(opts: GlobalOptions): DaptConfig {
  return loadConfig(
    {
      temporal: { ...(opts.address ? { address: opts.address } : {}), ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      store: { ...(opts.s3Endpoint ? { endpoint: opts.s3Endpoint } : {}), ...(opts.bucket ? { bucket: opts.bucket } : {}) },
    },
    process.env,
    { profile: opts.profile },
  );
}

let client: Client | undefined;
export async function clientFor(cfg: DaptConfig): Promise<Client> {
  client ??= await connectClient(cfg);
  return client;
}

export async function closeClient(): Promise<void> {
  await client?.connection.close();
  client = undefined;
}

/** Exit codes: 0 ok, 1 the run or operation failed, 2 bad input (spec, flags), 3 a server is unreachable. */
export function exitWith(e: unknown): never {
  if (e instanceof SpecError) {
    // In file order: a reader fixes them top to bottom (the compiler finds them check by check).
    console.error(formatIssues(e.file, [...e.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))));
    console.error(`${e.issues.length} problem(s) in ${e.file}`);
    if (e.issues.some((i) => i.code === 'missing-file')) {
      console.error('(local paths are checked where the plan is compiled; --no-check-paths skips that when only the workers hold the files)');
    }
    process.exit(2);
  }
  if (e instanceof ServerUnreachableError) {
    console.error(`error: ${e.message}`);
    process.exit(3);
  }
  if (e instanceof ProfileError) {
    console.error(`configuration error: ${e.message}`);
    process.exit(2);
  }
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`error: ${msg}`);
  process.exit(1);
}

export class UsageError extends Error {}

/** `--set a.b=c` values are YAML scalars: numbers, booleans and lists work as in the pipeline file. */
export function parseSets(sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${s}: expected STAGE.KEY=VALUE`);
    out[s.slice(0, eq)] = parseYaml(s.slice(eq + 1));
  }
  return out;
}
