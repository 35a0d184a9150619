/**
 * The N-API functions of @mongodb-js/zstd 1.2.2 (pinned in package.json), reached past its index.js: that wrapper
 * calls `compress(data)` without the level it is given, so every frame came out at zstd's default level 3.
 */
declare module '@mongodb-js/zstd/bindings' {
  /** One zstd frame of `data` at `level` (the frame records the content size; no checksum). */
  export function compress(data: Buffer, level?: number | null): Promise<Buffer>;
  export function decompress(data: Buffer): Promise<Buffer>;
}
