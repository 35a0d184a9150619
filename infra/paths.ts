/** Where the checkout and its scripts are, for code that starts them (the trainer, `dapt doctor`). */
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** Prints the trainer virtualenv's python, installing the pinned environment once (infra/trainer-env.sh). */
export const TRAINER_ENV_SCRIPT = path.join(REPO_ROOT, 'infra', 'trainer-env.sh');
