/** GPUs this process may use: CUDA_VISIBLE_DEVICES if set, else the NVIDIA device nodes. */
import fs from 'node:fs';

export function visibleGpus(): number {
  const env = process.env.CUDA_VISIBLE_DEVICES;
  if (env !== undefined) return env.trim() === '' || env === '-1' ? 0 : env.split(',').length;
  try {
    return fs.readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}
