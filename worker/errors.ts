/** One clear line when a server cannot be reached: which server, which address, and what to do. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
}

export function connectionError(server: 'Temporal' | 'MinIO', address: string, cause: unknown): ServerUnreachableError {
  const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new ServerUnreachableError(
    `cannot reach the ${server} server at ${address} (${why}). Start the local stack with \`dapt dev up\`, or point DAPT_${server === 'Temporal' ? 'TEMPORAL_ADDRESS' : 'S3_ENDPOINT'} at your server.`,
  );
}
