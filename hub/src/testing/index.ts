/**
 * `@dovetail/hub/testing`: what the cross-process tests and benches in `tests/` use from the hub,
 * so they go through a package entry point rather than reaching into its sources.
 */
export { insertGeneratedOrders, newestFirst, type GeneratedOrder } from './generated-orders.ts';
export { TestReceiver, type ReceivedWebhook, type Answer } from './webhook-receiver.ts';
// The hub-api bench's baseline: a catalog read with no HTTP layer in front of it.
export { getProduct } from '../catalog/service.ts';
export { TestMailInbox, TestSmsProvider, type ReceivedMail, type ReceivedSms } from './mail-inbox.ts';
