/**
 * Where the nodes of a multi-node trainer meet: node 0 hosts torchrun's c10d rendezvous store on its machine, at
 * an address the other machines can reach and a port free right now (torchrun binds it moments later; another
 * process taking it in between fails the try, and the group's retry picks again).
 */
import net from 'node:net';
import os from 'node:os';

/**
 * This machine's address for other nodes: DAPT_NODE_ADDRESS (on Kubernetes the pod IP, from the downward API),
 * else the first non-loopback IPv4 address, else the hostname.
 */
export function nodeAddress(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAPT_NODE_ADDRESS?.trim()) return env.DAPT_NODE_ADDRESS.trim();
  for (const addrs of Object.values(os.networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return os.hostname();
}

/** A port that is free on this machine now (DAPT_RENDEZVOUS_PORT when set: a fixed port a firewall lets through). */
export async function freePort(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const fixed = env.DAPT_RENDEZVOUS_PORT?.trim();
  if (fixed) {
    const port = Number(fixed);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`DAPT_RENDEZVOUS_PORT must be a port number, not '${fixed}'`);
    return port;
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** How the trainer launcher joins: `python -m trainer.torchrun N --nodes M --rendezvous … <trainer args>`. */
export interface TrainerRendezvous {
  nodes: number;
  address: string;
  id: string;
  /** This node hosts the rendezvous store (node 0). */
  host: boolean;
  joinTimeoutS: number;
}

export function rendezvousArgs(r: TrainerRendezvous): string[] {
  return ['--nodes', String(r.nodes), '--rendezvous', r.address, '--rendezvous-id', r.id, ...(r.host ? ['--rendezvous-host'] : []), '--join-timeout', String(r.joinTimeoutS)];
}
