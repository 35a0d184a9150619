/** Reading pipeline files: YAML, JSON, or a TypeScript/JavaScript module exporting a `definePipeline` result. */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { formatPath, SpecError, type SpecIssue } from './issues';
import { compilePipeline, type CompileOptions, type Plan } from './plan';

export interface LoadedSpec {
  file: string;
  raw: unknown;
  /** Positions of YAML nodes by dotted path, to point issues at lines. */
  positions: Map<string, { line: number; column: number }>;
  issues: SpecIssue[];
}

export async function readSpecFile(file: string): Promise<LoadedSpec> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    throw new SpecError(file, [{ code: 'syntax', path: '(file)', message: `no such file: ${abs}` }]);
  }
  const ext = path.extname(abs).toLowerCase();
  if (ext === '.ts' || ext === '.js' || ext === '.mts' || ext === '.cjs') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(abs) as { default?: unknown; pipeline?: unknown };
    const raw = mod.default ?? mod.pipeline;
    const issues: SpecIssue[] = raw
      ? []
      : [{ code: 'invalid', path: '(module)', message: 'expected a default export (or `pipeline`) made with definePipeline' }];
    return { file, raw, positions: new Map(), issues };
  }
  const text = fs.readFileSync(abs, 'utf8');
  if (ext === '.json') return parseJsonSpec(file, text);
  return parseYamlSpec(file, text);
}

export function parseJsonSpec(file: string, text: string): LoadedSpec {
  try {
    return { file, raw: JSON.parse(text), positions: new Map(), issues: [] };
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const at = pos ? lineCol(text, Number(pos[1])) : undefined;
    return { file, raw: undefined, positions: new Map(), issues: [{ code: 'syntax', path: '(file)', message: msg, ...at }] };
  }
}

export function parseYamlSpec(file: string, text: string): LoadedSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const issues: SpecIssue[] = [];
  for (const err of doc.errors) {
    const at = lc.linePos(err.pos[0]);
    if (err.code === 'DUPLICATE_KEY') {
      const dupPath = duplicatePath(doc, err.pos[0]);
      const isStage = dupPath.length === 2 && dupPath[0] === 'stages';
      issues.push({
        code: 'duplicate-name',
        path: formatPath(dupPath),
        message: isStage ? `stage name "${String(dupPath[1])}" is used twice` : `key "${String(dupPath.at(-1))}" is used twice`,
        line: at.line,
        column: at.col,
      });
    } else {
      issues.push({ code: 'syntax', path: '(file)', message: err.message.split('\n')[0], line: at.line, column: at.col });
    }
  }
  const positions = new Map<string, { line: number; column: number }>();
  collectPositions(doc.contents, [], lc, positions);
  // Duplicate names are reported beside everything else; other syntax errors leave nothing to compile.
  const raw = issues.some((i) => i.code === 'syntax') ? undefined : doc.toJS();
  return { file, raw, positions, issues };
}

/** Options of loadPlan: relative paths resolve against the file's folder, whose files are checked by default. */
export type LoadOptions = Omit<CompileOptions, 'baseDir'>;

/** Load, parse and compile a pipeline file; throws SpecError with every issue (with line numbers for YAML). */
export async function loadPlan(file: string, opts: LoadOptions = {}): Promise<Plan> {
  return (await loadPlanWithWarnings(file, opts)).plan;
}

/** loadPlan, also giving the warnings (with line numbers) of a plan that compiled. */
export async function loadPlanWithWarnings(file: string, opts: LoadOptions = {}): Promise<{ plan: Plan; warnings: SpecIssue[] }> {
  const loaded = await readSpecFile(file);
  const issues = [...loaded.issues];
  if (loaded.raw !== undefined) {
    const res = compilePipeline(loaded.raw, { ...opts, checkPaths: opts.checkPaths ?? true, baseDir: path.dirname(path.resolve(file)) });
    if (res.ok && !issues.length) return { plan: res.plan, warnings: withPositions(res.warnings, loaded.positions) };
    if (!res.ok) issues.push(...withPositions(res.issues, loaded.positions));
  }
  throw new SpecError(file, issues);
}

export function withPositions(issues: SpecIssue[], positions: LoadedSpec['positions']): SpecIssue[] {
  return issues.map((i) => {
    // The deepest known prefix of the issue's path gives the closest line.
    let p = i.path;
    while (p && !positions.has(p)) {
      const parent = p.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
      p = parent === p ? '' : parent;
    }
    const pos = p ? positions.get(p) : undefined;
    return pos ? { ...i, line: pos.line, column: pos.column } : i;
  });
}

function collectPositions(node: unknown, at: PropertyKey[], lc: LineCounter, out: LoadedSpec['positions']): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const p = [...at, String(pair.key.value)];
      if (pair.key.range) {
        const lp = lc.linePos(pair.key.range[0]);
        out.set(formatPath(p), { line: lp.line, column: lp.col });
      }
      collectPositions(pair.value, p, lc, out);
    }
  } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
    (node as { items: unknown[] }).items.forEach((item, i) => {
      const p = [...at, i];
      const range = (item as { range?: [number, number, number] }).range;
      if (range) {
        const lp = lc.linePos(range[0]);
        out.set(formatPath(p), { line: lp.line, column: lp.col });
      }
      collectPositions(item, p, lc, out);
    });
  }
}

/** Path of the map key at `offset` (the duplicate), found by walking the document's maps. */
function duplicatePath(doc: Document, offset: number): PropertyKey[] {
  const walk = (node: unknown, at: PropertyKey[]): PropertyKey[] | undefined => {
    if (!isMap(node)) return undefined;
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const p = [...at, String(pair.key.value)];
      const r = pair.key.range;
      if (r && r[0] <= offset && offset < r[1]) return p;
      const deeper = walk(pair.value, p);
      if (deeper) return deeper;
    }
    return undefined;
  };
  return walk(doc.contents, []) ?? [];
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
