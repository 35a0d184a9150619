/**
 * Where dapt finds its servers. A configuration is resolved in layers, later ones winning:
 *
 *   profile defaults (`local`: the `dapt dev up` stack; any other profile: no server defaults)
 *   → the profile's entry in the profiles file (~/.config/dapt/profiles.yaml, or DAPT_PROFILES_FILE)
 *   → environment variables (CONFIG_ENV below; `*_FILE` variants read a mounted file)
 *   → command-line flags.
 *
 * The profile is chosen by `--profile`, else DAPT_PROFILE, else `local`. Credentials come from the environment
 * or from mounted files, never from the profiles file and never from pipeline files. Every problem is reported
 * with where the value came from (the file and field, or the variable) — see ProfileError.
 * docs/configuration.md lists the same variables; a test keeps the two in step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { StoreConfig } from '../activities/store';

export interface TemporalTls {
  /** CA bundle that signed the server's certificate (PEM); omitted = the system roots. */
  caFile?: string;
  /** Client certificate and key (PEM) for mTLS; both or neither. */
  certFile?: string;
  keyFile?: string;
  /** TLS server name to verify, when it differs from the address's host (e.g. behind a load balancer). */
  serverName?: string;
}

export interface DaptConfig {
  /** Which profile this is and, for profiles from a file, which file. */
  profile: { name: string; file?: string };
  temporal: {
    address: string;
    namespace: string;
    /** Present = connect with TLS. */
    tls?: TemporalTls;
    /** Temporal Cloud style API key (sent as a bearer token). */
    apiKey?: string;
  };
  store: StoreConfig;
  /** Prepended to every task queue name (isolates teams or tests sharing one Temporal namespace). */
  queuePrefix: string;
  /** Register the DaptPipeline search attribute on runs (the dev server and `dapt dev up` define it). */
  searchAttributes: boolean;
  uiUrl: string;
  consoleUrl: string;
}

/** The task queue of pipeline workflows and the engine's bookkeeping activities. */
export const WORKFLOW_QUEUE = 'pipelines';
export const DEFAULT_BUCKET = 'dapt';
export const DEV_CREDENTIALS = { accessKey: 'dapt', secretKey: 'dapt-dev-secret' };
export const LOCAL_PROFILE = 'local';
export const CLUSTER_PROFILE = 'cluster';

// ---- the variables -----------------------------------------------------------------------------------

type Field =
  | 'temporal.address'
  | 'temporal.namespace'
  | 'temporal.tls'
  | 'temporal.tls.caFile'
  | 'temporal.tls.certFile'
  | 'temporal.tls.keyFile'
  | 'temporal.tls.serverName'
  | 'temporal.apiKey'
  | 'store.endpoint'
  | 'store.accessKey'
  | 'store.secretKey'
  | 'store.bucket'
  | 'store.prefix'
  | 'store.region'
  | 'store.caFile'
  | 'queuePrefix'
  | 'searchAttributes'
  | 'uiUrl'
  | 'consoleUrl';

export interface EnvVar {
  name: string;
  /** The configuration field it sets; absent for variables read elsewhere (the worker, the trainer launcher). */
  field?: Field;
  /** The variable names a file whose content is the value (Kubernetes secrets mounted as files). */
  fromFile?: boolean;
  help: string;
}

/** Every environment variable dapt reads: the one list (docs/configuration.md mirrors it; a test checks). */
export const CONFIG_ENV: readonly EnvVar[] = [
  { name: 'DAPT_PROFILE', help: 'profile to use: local (default), cluster, or a name in the profiles file; `--profile` wins' },
  { name: 'DAPT_PROFILES_FILE', help: 'the profiles file (default ~/.config/dapt/profiles.yaml)' },
  { name: 'DAPT_TEMPORAL_ADDRESS', field: 'temporal.address', help: 'Temporal frontend host:port' },
  { name: 'DAPT_NAMESPACE', field: 'temporal.namespace', help: 'Temporal namespace' },
  { name: 'DAPT_TEMPORAL_TLS', field: 'temporal.tls', help: '1: connect to Temporal with TLS (implied by any DAPT_TEMPORAL_TLS_* file)' },
  { name: 'DAPT_TEMPORAL_TLS_CA_FILE', field: 'temporal.tls.caFile', help: 'PEM CA bundle of the Temporal server certificate' },
  { name: 'DAPT_TEMPORAL_TLS_CERT_FILE', field: 'temporal.tls.certFile', help: 'PEM client certificate (mTLS)' },
  { name: 'DAPT_TEMPORAL_TLS_KEY_FILE', field: 'temporal.tls.keyFile', help: 'PEM client key (mTLS)' },
  { name: 'DAPT_TEMPORAL_TLS_SERVER_NAME', field: 'temporal.tls.serverName', help: 'server name to verify instead of the address host' },
  { name: 'DAPT_TEMPORAL_API_KEY', field: 'temporal.apiKey', help: 'Temporal API key (e.g. Temporal Cloud)' },
  { name: 'DAPT_TEMPORAL_API_KEY_FILE', field: 'temporal.apiKey', fromFile: true, help: 'file holding the Temporal API key' },
  { name: 'DAPT_S3_ENDPOINT', field: 'store.endpoint', help: 'MinIO/S3 endpoint URL (https:// for TLS)' },
  { name: 'DAPT_S3_ACCESS_KEY', field: 'store.accessKey', help: 'S3 access key' },
  { name: 'DAPT_S3_ACCESS_KEY_FILE', field: 'store.accessKey', fromFile: true, help: 'file holding the S3 access key' },
  { name: 'DAPT_S3_SECRET_KEY', field: 'store.secretKey', help: 'S3 secret key' },
  { name: 'DAPT_S3_SECRET_KEY_FILE', field: 'store.secretKey', fromFile: true, help: 'file holding the S3 secret key' },
  { name: 'DAPT_S3_CA_FILE', field: 'store.caFile', help: 'PEM CA bundle of the S3 endpoint certificate (private CA)' },
  { name: 'DAPT_S3_REGION', field: 'store.region', help: 'S3 region (default us-east-1)' },
  { name: 'DAPT_BUCKET', field: 'store.bucket', help: 'artifact bucket' },
  { name: 'DAPT_S3_PREFIX', field: 'store.prefix', help: "key prefix inside the bucket, e.g. a team's folder `nlp/`" },
  { name: 'DAPT_QUEUE_PREFIX', field: 'queuePrefix', help: 'prefix of every task queue name (teams sharing a namespace)' },
  { name: 'DAPT_SEARCH_ATTRIBUTES', field: 'searchAttributes', help: '0: do not tag runs with the DaptPipeline search attribute' },
  { name: 'DAPT_UI_URL', field: 'uiUrl', help: 'Temporal Web UI base URL, for run links' },
  { name: 'DAPT_CONSOLE_URL', field: 'consoleUrl', help: 'MinIO console URL, for links' },
  { name: 'DAPT_METRICS_PORT', help: 'worker: serve Prometheus metrics on this port (`dapt worker --metrics-port`)' },
  { name: 'DAPT_TRAINER_PYTHON', help: "worker: the trainer's python (default: the venv infra/trainer-env.sh builds)" },
  { name: 'DAPT_TRAINER_NPROC', help: 'worker: force the number of trainer processes (DDP ranks) of pretrain' },
  { name: 'CUDA_VISIBLE_DEVICES', help: 'worker: the GPUs it may hand out, one activity slot each (default: every /dev/nvidiaN)' },
  { name: 'DAPT_CACHE_DIR', help: 'cache of installed servers, the trainer venv and workflow bundles (default ~/.cache/dapt)' },
  { name: 'DAPT_TOKEN_CACHE', help: 'worker: directory of token shards shared by pretrain attempts and runs (default $DAPT_CACHE_DIR/tokens)' },
  { name: 'DAPT_LOG_LEVEL', help: 'Temporal SDK log level in workers (default WARN)' },
];

// ---- the profiles file -------------------------------------------------------------------------------

const noCredentials = (env: string) =>
  z.undefined({ error: `credentials are never read from the profiles file: set ${env} or ${env}_FILE` }).optional();

const FilePath = z.string().min(1);

const ProfileSpec = z
  .object({
    temporal: z
      .object({
        address: z.string(),
        namespace: z.string().min(1).optional(),
        tls: z
          .union([
            z.boolean(),
            z
              .object({ caFile: FilePath.optional(), certFile: FilePath.optional(), keyFile: FilePath.optional(), serverName: z.string().min(1).optional() })
              .strict(),
          ])
          .optional(),
        apiKey: noCredentials('DAPT_TEMPORAL_API_KEY'),
      })
      .strict(),
    store: z
      .object({
        endpoint: z.string(),
        bucket: z.string().optional(),
        prefix: z.string().optional(),
        region: z.string().min(1).optional(),
        caFile: FilePath.optional(),
        accessKey: noCredentials('DAPT_S3_ACCESS_KEY'),
        secretKey: noCredentials('DAPT_S3_SECRET_KEY'),
      })
      .strict(),
    queuePrefix: z.string().optional(),
    searchAttributes: z.boolean().optional(),
    uiUrl: z.string().optional(),
    consoleUrl: z.string().optional(),
  })
  .strict();

const ProfilesFile = z
  .object({ profiles: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'profile names use letters, digits, _ . and -' }), ProfileSpec) })
  .strict();

/** A configuration problem: each line names where the value came from (file and field, or variable). */
export class ProfileError extends Error {
  override name = 'ProfileError';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `configuration problems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export function defaultProfilesFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAPT_PROFILES_FILE) return path.resolve(env.DAPT_PROFILES_FILE);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'dapt', 'profiles.yaml');
}

// ---- resolution --------------------------------------------------------------------------------------

type Value = string | boolean;
interface Entry {
  value: Value;
  origin: string;
}
type Layered = Partial<Record<Field, Entry>>;

const LOCAL_DEFAULTS: Partial<Record<Field, Value>> = {
  'temporal.address': '127.0.0.1:7233',
  'temporal.namespace': 'default',
  'store.endpoint': 'http://127.0.0.1:9000',
  'store.accessKey': DEV_CREDENTIALS.accessKey,
  'store.secretKey': DEV_CREDENTIALS.secretKey,
  'store.bucket': DEFAULT_BUCKET,
  'store.prefix': '',
  queuePrefix: '',
  searchAttributes: true,
  uiUrl: 'http://127.0.0.1:8233',
  consoleUrl: 'http://127.0.0.1:9001',
};

/** A non-local profile names its servers itself; only harmless defaults apply. */
const REMOTE_DEFAULTS: Partial<Record<Field, Value>> = {
  'temporal.namespace': 'default',
  'store.bucket': DEFAULT_BUCKET,
  'store.prefix': '',
  queuePrefix: '',
  searchAttributes: true,
  uiUrl: '',
  consoleUrl: '',
};

const EMPTY_MEANS_NONE = new Set<Field>(['store.prefix', 'queuePrefix', 'uiUrl', 'consoleUrl']);

export type ConfigOverrides = Omit<Partial<DaptConfig>, 'temporal' | 'store'> & {
  temporal?: Partial<DaptConfig['temporal']>;
  store?: Partial<StoreConfig>;
};

export interface LoadOptions {
  /** `--profile`; else DAPT_PROFILE; else `local`. */
  profile?: string;
}

/**
 * The configuration of this process. `overrides` are flags (they win over everything); `env` defaults to the
 * process environment (tests pass `{}` for a hermetic local profile).
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): DaptConfig {
  const name = opts.profile || env.DAPT_PROFILE || LOCAL_PROFILE;
  const problems: string[] = [];
  const layers: Layered = {};
  const put = (f: Field, value: Value | undefined, origin: string) => {
    if (value !== undefined) layers[f] = { value, origin };
  };

  const defaults = name === LOCAL_PROFILE ? LOCAL_DEFAULTS : REMOTE_DEFAULTS;
  for (const [f, v] of Object.entries(defaults)) put(f as Field, v, `profile "${name}" default`);

  let file: string | undefined;
  if (name !== LOCAL_PROFILE) {
    const profilesFile = defaultProfilesFile(env);
    const fromFile = readProfile(profilesFile, name, problems);
    if (fromFile) {
      file = profilesFile;
      const at = (p: string) => `${profilesFile}: profiles.${name}.${p}`;
      const t = fromFile.temporal;
      put('temporal.address', t.address, at('temporal.address'));
      put('temporal.namespace', t.namespace, at('temporal.namespace'));
      if (t.tls !== undefined) {
        put('temporal.tls', typeof t.tls === 'boolean' ? t.tls : true, at('temporal.tls'));
        if (typeof t.tls === 'object') {
          for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
            put(`temporal.tls.${k}`, t.tls[k] && path.resolve(path.dirname(profilesFile), t.tls[k]), at(`temporal.tls.${k}`));
          }
          put('temporal.tls.serverName', t.tls.serverName, at('temporal.tls.serverName'));
        }
      }
      const s = fromFile.store;
      put('store.endpoint', s.endpoint, at('store.endpoint'));
      put('store.bucket', s.bucket, at('store.bucket'));
      put('store.prefix', s.prefix, at('store.prefix'));
      put('store.region', s.region, at('store.region'));
      put('store.caFile', s.caFile && path.resolve(path.dirname(profilesFile), s.caFile), at('store.caFile'));
      put('queuePrefix', fromFile.queuePrefix, at('queuePrefix'));
      put('searchAttributes', fromFile.searchAttributes, at('searchAttributes'));
      put('uiUrl', fromFile.uiUrl, at('uiUrl'));
      put('consoleUrl', fromFile.consoleUrl, at('consoleUrl'));
    } else if (name !== CLUSTER_PROFILE && !problems.length) {
      problems.push(`profile "${name}" is not defined: no such profile in ${profilesFile} (the built-in profiles are local and cluster)`);
    }
    // A broken or missing profile explains everything that follows: say only that.
    if (problems.length) throw new ProfileError(problems);
  }

  for (const v of CONFIG_ENV) {
    const raw = env[v.name];
    if (!v.field || raw === undefined) continue;
    // An empty variable is an unset one (a chart leaves optional values empty), except where empty means "none".
    if (raw === '' && !EMPTY_MEANS_NONE.has(v.field)) continue;
    if (v.fromFile) {
      try {
        put(v.field, fs.readFileSync(raw, 'utf8').replace(/\r?\n$/, ''), `${v.name} (file ${raw})`);
      } catch (e) {
        problems.push(`${v.name}: cannot read ${raw} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    } else if (v.field === 'searchAttributes' || v.field === 'temporal.tls') {
      put(v.field, raw !== '0' && raw.toLowerCase() !== 'false', v.name);
    } else {
      put(v.field, raw, v.name);
    }
  }

  const flag = (f: Field, value: Value | undefined) => put(f, value, 'command-line flag');
  flag('temporal.address', overrides.temporal?.address);
  flag('temporal.namespace', overrides.temporal?.namespace);
  if (overrides.temporal && 'tls' in overrides.temporal) {
    const tls = overrides.temporal.tls;
    flag('temporal.tls', !!tls);
    for (const k of ['caFile', 'certFile', 'keyFile', 'serverName'] as const) flag(`temporal.tls.${k}`, tls?.[k]);
  }
  flag('temporal.apiKey', overrides.temporal?.apiKey);
  for (const k of ['endpoint', 'accessKey', 'secretKey', 'bucket', 'prefix', 'region', 'caFile'] as const) flag(`store.${k}`, overrides.store?.[k]);
  flag('queuePrefix', overrides.queuePrefix);
  flag('searchAttributes', overrides.searchAttributes);
  flag('uiUrl', overrides.uiUrl);
  flag('consoleUrl', overrides.consoleUrl);

  const cfg = assemble(name, file, layers, problems);
  if (problems.length) throw new ProfileError(problems);
  return cfg;
}

function readProfile(file: string, name: string, problems: string[]): z.output<typeof ProfileSpec> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    problems.push(`${file}: cannot read the profiles file (${(e as Error).message})`);
    return undefined;
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    problems.push(...doc.errors.map((e) => `${file}: line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`));
    return undefined;
  }
  const parsed = ProfilesFile.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    // Report the problems of the chosen profile (and of the file's structure), not of unrelated profiles.
    for (const i of parsed.error.issues) {
      if (i.path[0] === 'profiles' && i.path.length > 1 && i.path[1] !== name) continue;
      const keys = i.code === 'unrecognized_keys' ? i.keys : [undefined];
      for (const k of keys) {
        const p = [...i.path, ...(k === undefined ? [] : [k])].join('.');
        const line = lineOf(doc, [...i.path, ...(k === undefined ? [] : [k])]);
        problems.push(`${file}${line ? `:${line}` : ''}: ${p || '(top level)'}: ${k === undefined ? i.message : `unknown field "${String(k)}"`}`);
      }
    }
    if (problems.length) return undefined;
    const raw = (doc.toJS() as { profiles?: Record<string, unknown> }).profiles?.[name];
    return raw === undefined ? undefined : ProfileSpec.parse(raw);
  }
  return parsed.data.profiles[name];
}

function lineOf(doc: ReturnType<typeof parseDocument>, p: PropertyKey[]): number | undefined {
  for (let n = p.length; n > 0; n--) {
    const node = doc.getIn(p.slice(0, n) as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return doc.toString().slice(0, node.range[0]).split('\n').length;
  }
  return undefined;
}

function assemble(name: string, file: string | undefined, layers: Layered, problems: string[]): DaptConfig {
  const str = (f: Field) => layers[f]?.value as string | undefined;
  const where = (f: Field) => layers[f]?.origin ?? 'nowhere';
  const need = (f: Field, hint: string): string => {
    const v = str(f);
    if (v === undefined || v === '') problems.push(`profile "${name}": ${f} is not set (${hint})`);
    return v ?? '';
  };
  const check = (f: Field, ok: (v: string) => boolean, expected: string) => {
    const v = str(f);
    if (v !== undefined && !ok(v)) problems.push(`${where(f)}: ${f}: expected ${expected}, got "${v}"`);
  };
  const readable = (f: Field) => {
    const v = str(f);
    if (v === undefined) return;
    try {
      fs.accessSync(v, fs.constants.R_OK);
      if (!fs.statSync(v).isFile()) problems.push(`${where(f)}: ${f}: ${v} is not a file`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${where(f)}: ${f}: cannot read ${v} (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
    }
  };

  const address = need('temporal.address', 'DAPT_TEMPORAL_ADDRESS or temporal.address in the profile');
  check('temporal.address', (v) => /^[^\s:/]+(:\d{1,5})$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(v), 'host:port');
  const endpoint = need('store.endpoint', 'DAPT_S3_ENDPOINT or store.endpoint in the profile');
  check('store.endpoint', (v) => /^https?:\/\/[^/\s]+\/?$/.test(v), 'an http:// or https:// URL without a path');
  const accessKey = need('store.accessKey', 'DAPT_S3_ACCESS_KEY or DAPT_S3_ACCESS_KEY_FILE');
  const secretKey = need('store.secretKey', 'DAPT_S3_SECRET_KEY or DAPT_S3_SECRET_KEY_FILE');
  check('store.bucket', (v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), 'an S3 bucket name (3-63 lower-case letters, digits, dots, dashes)');
  check('queuePrefix', (v) => /^[a-z0-9-]*$/.test(v), 'lower-case letters, digits and dashes');

  const tlsFiles = (['caFile', 'certFile', 'keyFile'] as const).filter((k) => str(`temporal.tls.${k}`));
  const tlsOn = layers['temporal.tls']?.value === true || tlsFiles.length > 0 || !!str('temporal.tls.serverName');
  if (!!str('temporal.tls.certFile') !== !!str('temporal.tls.keyFile')) {
    const [has, lacks] = str('temporal.tls.certFile') ? (['certFile', 'keyFile'] as const) : (['keyFile', 'certFile'] as const);
    problems.push(`${where(`temporal.tls.${has}`)}: temporal.tls.${lacks} is missing: mTLS needs both the client certificate and its key`);
  }
  for (const k of tlsFiles) readable(`temporal.tls.${k}`);
  readable('store.caFile');
  if (str('store.caFile')) check('store.endpoint', (v) => v.startsWith('https://'), 'an https:// endpoint (store.caFile is set)');

  const tls: TemporalTls | undefined = tlsOn
    ? {
        caFile: str('temporal.tls.caFile'),
        certFile: str('temporal.tls.certFile'),
        keyFile: str('temporal.tls.keyFile'),
        serverName: str('temporal.tls.serverName'),
      }
    : undefined;
  return {
    profile: { name, ...(file ? { file } : {}) },
    temporal: {
      address,
      namespace: str('temporal.namespace') ?? 'default',
      ...(tls ? { tls: dropUndefined(tls) } : {}),
      ...(str('temporal.apiKey') ? { apiKey: str('temporal.apiKey') } : {}),
    },
    store: dropUndefined({
      endpoint,
      accessKey,
      secretKey,
      bucket: str('store.bucket') ?? DEFAULT_BUCKET,
      prefix: str('store.prefix') ?? '',
      region: str('store.region'),
      caFile: str('store.caFile'),
    }),
    queuePrefix: str('queuePrefix') ?? '',
    searchAttributes: layers.searchAttributes?.value !== false,
    uiUrl: str('uiUrl') ?? '',
    consoleUrl: str('consoleUrl') ?? '',
  };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function workflowQueue(cfg: Pick<DaptConfig, 'queuePrefix'>): string {
  return cfg.queuePrefix + WORKFLOW_QUEUE;
}

/** Options for Connection.connect / NativeConnection.connect: the address plus TLS material read from its files. */
export function temporalConnectOptions(cfg: DaptConfig): { address: string; tls?: TlsOptions; apiKey?: string } {
  const t = cfg.temporal.tls;
  const read = (f: string | undefined) => (f ? fs.readFileSync(f) : undefined);
  const tls = t
    ? dropUndefined({
        serverNameOverride: t.serverName,
        serverRootCACertificate: read(t.caFile),
        clientCertPair: t.certFile && t.keyFile ? { crt: read(t.certFile)!, key: read(t.keyFile)! } : undefined,
      })
    : undefined;
  return { address: cfg.temporal.address, ...(tls ? { tls } : {}), ...(cfg.temporal.apiKey ? { apiKey: cfg.temporal.apiKey } : {}) };
}

interface TlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** The environment that makes another dapt process (a worker, the CLI) use this configuration. */
export function configEnv(cfg: DaptConfig): Record<string, string> {
  const t = cfg.temporal.tls;
  const env: Record<string, string | undefined> = {
    DAPT_PROFILE: cfg.profile.name,
    DAPT_PROFILES_FILE: cfg.profile.file,
    DAPT_TEMPORAL_ADDRESS: cfg.temporal.address,
    DAPT_NAMESPACE: cfg.temporal.namespace,
    DAPT_TEMPORAL_TLS: t ? '1' : '0',
    DAPT_TEMPORAL_TLS_CA_FILE: t?.caFile,
    DAPT_TEMPORAL_TLS_CERT_FILE: t?.certFile,
    DAPT_TEMPORAL_TLS_KEY_FILE: t?.keyFile,
    DAPT_TEMPORAL_TLS_SERVER_NAME: t?.serverName,
    DAPT_TEMPORAL_API_KEY: cfg.temporal.apiKey,
    DAPT_S3_ENDPOINT: cfg.store.endpoint,
    DAPT_S3_ACCESS_KEY: cfg.store.accessKey,
    DAPT_S3_SECRET_KEY: cfg.store.secretKey,
    DAPT_S3_CA_FILE: cfg.store.caFile,
    DAPT_S3_REGION: cfg.store.region,
    DAPT_BUCKET: cfg.store.bucket,
    DAPT_S3_PREFIX: cfg.store.prefix ?? '',
    DAPT_QUEUE_PREFIX: cfg.queuePrefix,
    DAPT_SEARCH_ATTRIBUTES: cfg.searchAttributes ? '1' : '0',
    DAPT_UI_URL: cfg.uiUrl,
    DAPT_CONSOLE_URL: cfg.consoleUrl,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
