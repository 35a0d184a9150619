/** Validation problems: collected, never thrown one at a time, and formatted separately. */

export type IssueCode =
  | 'syntax'
  | 'invalid'
  | 'unknown-kind'
  | 'bad-params'
  | 'missing-need'
  | 'cycle'
  | 'type-mismatch'
  | 'duplicate-name'
  | 'invalid-cron'
  | 'input-role'
  | 'missing-file'
  | 'too-large';

export interface SpecIssue {
  code: IssueCode;
  /** Dotted path into the spec, e.g. `stages.pretrain.with.masking` or `stages.b.needs[0]`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
  /** Absent: an error, which stops the plan. A warning is printed and the plan still runs. */
  severity?: 'warning';
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out || '(root)';
}

export function formatIssues(file: string, issues: readonly SpecIssue[]): string {
  return issues
    .map((i) => {
      const where = i.line ? `${file}:${i.line}:${i.column ?? 1}` : file;
      return `${where}: ${i.severity ? `${i.severity}: ` : ''}${i.path}: ${i.message} [${i.code}]`;
    })
    .join('\n');
}

/** Thrown by deep code when a spec is invalid; carries every issue. */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly issues: SpecIssue[],
  ) {
    super(`${file}: ${issues.length} problem(s)\n${formatIssues(file, issues)}`);
    this.name = 'SpecError';
  }
}
