/**
 * Local files the params name (the kinds' `localPaths`) must exist where the plan is compiled. A missing one
 * would otherwise fail its stage only when the stage starts, after every stage before it ran. Callers compiling
 * on a machine that does not hold the files (the workers do) turn this off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatPath, type SpecIssue } from '../issues';
import { localPathRefs } from '../local-paths';
import type { StageKindName } from '../stages';

/** `params` as the spec gives them (relative paths unresolved), so each message shows what the user wrote. */
export function missingFileIssues(stage: string, kind: StageKindName, params: Record<string, unknown>, baseDir: string | undefined): SpecIssue[] {
  return localPathRefs(kind, params).flatMap(({ at, value }) => {
    const abs = path.resolve(baseDir ?? '.', value);
    if (fs.existsSync(abs)) return [];
    const message = `no such file or directory: ${value}${abs === value ? '' : ` (resolved to ${abs})`}`;
    return [{ code: 'missing-file' as const, path: formatPath(['stages', stage, 'with', ...at]), message }];
  });
}
