/** The `dapt` command line: wiring only; each command lives in cli/commands. */
import { Command, Option } from 'commander';
import { approvalCommand } from './commands/approval';
import { artifactsCommand } from './commands/artifacts';
import { modelsCommand } from './commands/models';
import { reportCommand } from './commands/report';
import { devCommand } from './commands/dev';
import { doctorCommand } from './commands/doctor';
import { demoCommand, demoScale, demoSeed } from './commands/demo';
import { controlCommand, listCommand, runCommand, statusCommand } from './commands/runs';
import { scheduleCreate, scheduleDescribe, scheduleDo, scheduleList } from './commands/schedule';
import { CHECK_PATHS_HELP, planFromFile, schemaCommand, validateCommand } from './commands/spec';
import { workerCommand } from './commands/worker';
import { clientFor, closeClient, configFrom, exitWith, type GlobalOptions } from './context';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('dapt')
    .description('Declarative DAGs on Temporal for domain-adaptive continual pretraining')
    .option('--profile <name>', 'configuration profile: local, cluster or one in ~/.config/dapt/profiles.yaml (env DAPT_PROFILE)')
    .option('--address <host:port>', 'Temporal frontend (env DAPT_TEMPORAL_ADDRESS)')
    .option('--namespace <ns>', 'Temporal namespace (env DAPT_NAMESPACE)')
    .option('--s3-endpoint <url>', 'MinIO/S3 endpoint (env DAPT_S3_ENDPOINT)')
    .option('--bucket <name>', 'artifact bucket (env DAPT_BUCKET)')
    .showHelpAfterError();

  const g = () => program.opts<GlobalOptions>();
  const withClient =
    <A extends unknown[]>(f: (client: Awaited<ReturnType<typeof clientFor>>, cfg: ReturnType<typeof configFrom>, ...a: A) => Promise<number | void>) =>
    async (...a: A) => {
      const cfg = configFrom(g());
      const code = await f(await clientFor(cfg), cfg, ...a);
      await closeClient();
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    };

  program
    .command('validate <file>')
    .description('check a pipeline file; prints every problem (exit 2) or the DAG by levels (exit 0)')
    .option('--set <stage.key=value>', 'override a stage parameter (repeatable)', collect)
    .option('--json', 'print the compiled plan')
    .option('--no-check-paths', CHECK_PATHS_HELP)
    .action((file, o) => validateCommand(file, o));
  program
    .command('schema')
    .description('print the JSON Schema of pipeline files (for editors)')
    .option('--trainer', 'the schema of the trainer config instead (trainer/config.schema.json)')
    .option('--trainer-events', 'the schema of the trainer\'s stdout events instead (trainer/events.schema.json)')
    .action(schemaCommand);

  program
    .command('run <file>')
    .description('start a run; prints its id and the Temporal UI link')
    .option('-w, --watch', 'follow the run until it ends (exit 0 on success, 1 on failure)')
    .option('--no-cache', 'rerun every stage even when a cached output exists')
    .option('--set <stage.key=value>', 'override a stage parameter (repeatable)', collect)
    .option('--no-check-paths', CHECK_PATHS_HELP)
    // The spec is checked before connecting: its problems are reported even when no server is up.
    .action(async (file: string, o) => {
      const plan = await planFromFile(file, o);
      await withClient((c, cfg) => runCommand(c, cfg, plan, o))();
    });
  program
    .command('status <run>')
    .description('per-stage state, attempts, progress, outputs')
    .option('--json')
    .action(withClient((c, _cfg, run: string, o) => statusCommand(c, run, o)));
  program
    .command('list')
    .description('recent runs')
    .option('--pipeline <name>')
    .option('--limit <n>')
    .action(withClient((c, _cfg, o) => listCommand(c, o)));
  program.command('cancel <run>').description('cancel a run; running stages are told to stop').action(withClient((c, _cfg, run: string) => controlCommand(c, 'cancel', run)));
  program.command('retry <run> <stage>').description('retry a parked stage').action(withClient((c, _cfg, run: string, stage: string) => controlCommand(c, 'retry', run, stage)));
  program.command('skip <run> <stage>').description('skip a parked stage (its dependents are skipped)').action(withClient((c, _cfg, run: string, stage: string) => controlCommand(c, 'skip', run, stage)));
  program
    .command('abort <run>')
    .description('end a run now, failing it')
    .option('--reason <text>')
    .action(withClient((c, _cfg, run: string, o: { reason?: string }) => controlCommand(c, 'abort', run, undefined, o.reason)));
  program
    .command('approve <run>')
    .description('approve the promotion a run is waiting for (a promote stage with approval)')
    .option('--stage <name>', 'the waiting stage (needed only when several wait)')
    .option('--by <name>', 'who approves (default: your login name)')
    .action(withClient((c, _cfg, run: string, o) => approvalCommand(c, 'approve', run, o)));
  program
    .command('reject <run>')
    .description('turn down the promotion a run is waiting for: the current model stays')
    .option('--stage <name>', 'the waiting stage (needed only when several wait)')
    .option('--by <name>', 'who rejects (default: your login name)')
    .option('--reason <text>')
    .action(withClient((c, _cfg, run: string, o) => approvalCommand(c, 'reject', run, o)));
  program
    .command('models <name>')
    .description('the promoted model of a line (models/<name>/latest): digest, metric, run, approver')
    .option('--history', 'every promotion of the line, oldest first')
    .option('--json')
    .action(async (name: string, o: { history?: boolean; json?: boolean }) => modelsCommand(configFrom(g()), name, o));
  program
    .command('artifacts <run> [stage]')
    .description('outputs of a run: keys, sizes, digests, lineage')
    .option('--download <dir>', 'download the files (digests verified)')
    .option('--json')
    .action(withClient((c, cfg, run: string, stage: string | undefined, o) => artifactsCommand(c, cfg, run, stage, o)));
  program
    .command('report <run>')
    .description("the run's HTML report: the one its report stage stored, or one rendered now from the run's status")
    .option('--out <file>', 'where to write it (default: ./<run>.report.html)')
    .option('--open', "open it with the platform's opener (xdg-open, open, start)")
    .option('--render', "render from the run's current status even when a report stage stored one (covers every stage)")
    .option('--stage <name>', 'which report stage, when the pipeline has several')
    .option('--title <text>', 'page title of a rendered report')
    .option('--screenshot [png]', 'also save a full-page PNG (headless Chromium; default: beside the report)')
    .action(withClient((c, cfg, run: string, o) => reportCommand(c, cfg, run, o)));

  const sched = program.command('schedule').description('recurring runs on Temporal Schedules');
  sched
    .command('create <file>')
    .option('--id <id>', 'schedule id (default: the pipeline name)')
    .option('--cron <expr>', 'cron expression (repeatable; default: the spec\'s schedule.cron)', collect)
    .addOption(new Option('--overlap <policy>').choices(['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all']))
    .option('--catchup-window <duration>', 'e.g. 1d')
    .option('--paused')
    .option('--set <stage.key=value>', 'override a stage parameter (repeatable)', collect)
    .option('--no-check-paths', CHECK_PATHS_HELP)
    .action(async (file: string, o) => {
      const plan = await planFromFile(file, o);
      await withClient((c, cfg) => scheduleCreate(c, cfg, plan, o))();
    });
  sched.command('list').action(withClient((c) => scheduleList(c)));
  sched.command('describe <id>').action(withClient((c, _cfg, id: string) => scheduleDescribe(c, id)));
  for (const action of ['pause', 'unpause', 'trigger', 'delete'] as const) {
    sched
      .command(`${action} <id>`)
      .option('--note <text>')
      .option('--overlap <policy>')
      .action(withClient((c, _cfg, id: string, o) => scheduleDo(c, action, id, o)));
  }
  sched
    .command('backfill <id>')
    .requiredOption('--from <iso>')
    .requiredOption('--to <iso>')
    .option('--overlap <policy>')
    .action(withClient((c, _cfg, id: string, o) => scheduleDo(c, 'backfill', id, o)));

  program
    .command('worker')
    .description('run a worker until SIGINT/SIGTERM')
    .option('--queue <name>', 'cpu, gpu, gpu-<class>, all (repeatable or comma-separated)', collect)
    .option('--concurrency <n>', 'activity slots per queue (gpu: number of visible GPUs)')
    .option('--no-workflows', 'do not run pipeline workflows in this process')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (env DAPT_METRICS_PORT)')
    .action((o) => workerCommand(configFrom(g()), { ...o, queue: o.queue ?? ['all'] }));

  program
    .command('doctor')
    .description('check the configuration end to end: Temporal, namespace, search attributes, bucket, workers per queue, trainer')
    .option('--queue <name>', 'activity queues that need a worker (repeatable; default: every stage kind\'s default queue)', collect)
    .option('--pipeline <file>', 'check the queues this pipeline uses (repeatable)', collect)
    .option('--no-trainer', "skip the trainer Python check (it runs on GPU workers' machines)")
    .action(async (o) => {
      process.exitCode = await doctorCommand(configFrom(g()), o);
    });

  const dev = program.command('dev').description('the local Temporal dev server and MinIO');
  for (const action of ['up', 'down', 'status'] as const) {
    dev.command(action).action(async () => {
      process.exitCode = await devCommand(action);
    });
  }
  program
    .command('demo')
    .description('bring the local stack up, start workers in-process, run an example pipeline (examples/<name>) with watch, download its report')
    .option('--example <name>', 'debian-en (default: real data), biomed-en, legal-zh, or demo (examples/demo.yaml: the data stages only)')
    .option('--prepare-only', 'only write the example data under examples/data/<name>')
    .option('--seed <n>', 'another draw of the generated data (generated examples)', demoSeed)
    .option('--scale <k>', 'multiply every generated count', demoScale)
    .option('--no-cache')
    .action(async (o) => {
      process.exitCode = await demoCommand(o);
    });
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    exitWith(e);
  }
}
