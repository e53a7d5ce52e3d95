export type { AppProcedures, AppRouter } from './http/root.ts';
export { createHub, type Hub, type HubOptions } from './hub.ts';
export { dropPostgresSchema } from './db/connect.ts';
export { emitWebhookEvent } from './webhooks/emit.ts';
export { WebhookWorker } from './webhooks/worker.ts';
