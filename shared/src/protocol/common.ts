import { z } from 'zod';
import * as limits from '../limits.ts';

export const upstreamSeqSchema = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
export const cursorSchema = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Downstream channels: the global catalog, and one per warehouse for everything only it needs. */
export const channelSchema = z
  .string()
  .max(limits.channelNameLengthMax)
  .regex(/^(catalog|warehouse:[A-Za-z0-9][A-Za-z0-9_-]*)$/, 'channel: catalog or warehouse:<id>');
export type Channel = z.infer<typeof channelSchema>;

export function warehouseChannel(warehouseId: string): Channel {
  return `warehouse:${warehouseId}`;
}
