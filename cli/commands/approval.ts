/** dapt approve | reject: answer a promote stage that waits for a human. */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { answerApproval } from '../../client/runs';

export interface ApprovalOptions {
  stage?: string;
  by?: string;
  reason?: string;
}

/** Who answered: --by, else the login name, so the promotion record always names someone. */
function approver(by: string | undefined): string {
  if (by) return by;
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export async function approvalCommand(client: Client, action: 'approve' | 'reject', run: string, opts: ApprovalOptions): Promise<void> {
  const by = approver(opts.by);
  const stage = await answerApproval(client, run, action, { stage: opts.stage, by, reason: opts.reason });
  console.log(`${action === 'approve' ? 'approved' : 'rejected'} ${stage} of ${run} (by ${by})`);
}
