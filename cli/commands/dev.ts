/** dapt dev up|down|status: the local Temporal dev server and MinIO, started by dapt and left running. */
import { devDown, devStatus, devUp, type DevStatus } from '../../infra/dev';

function print(s: DevStatus): void {
  const t = s.temporal;
  const m = s.minio;
  console.log(`temporal  ${t.running ? 'running' : 'stopped'}  ${t.address}${t.pid ? `  pid ${t.pid}` : ''}  UI ${t.uiUrl}`);
  console.log(`minio     ${m.running ? 'running' : 'stopped'}  ${m.endpoint}${m.pid ? `  pid ${m.pid}` : ''}  console ${m.consoleUrl}`);
  console.log(`state     ${s.stateDir}`);
}

export async function devCommand(action: 'up' | 'down' | 'status'): Promise<number> {
  if (action === 'up') print(await devUp());
  else if (action === 'down') {
    const { stopped } = await devDown();
    console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing started by dapt dev up was running');
  } else {
    const s = await devStatus();
    print(s);
    return s.temporal.running && s.minio.running ? 0 : 1;
  }
  return 0;
}
