/**
 * The demo's 3PL partner: a small webhook receiver, as a partner's integrator would write it in any
 * language. It verifies every request with the `standardwebhooks` library (the reference consumer of
 * the format the hub signs), and when the hub sends `fulfillment_order.requested` it accepts the
 * fulfillment order and ships it through the hub's REST API as the 3PL's client.
 *
 *   node --import tsx demo/src/partner.ts  (env: PARTNER_PORT, HUB_URL, PARTNER_CLIENT_ID,
 *   PARTNER_CLIENT_SECRET, PARTNER_SECRET_FILE: where the endpoint's whsec_… secret is kept)
 */
import fs from 'node:fs';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env.PARTNER_PORT ?? 4300);
const hub = process.env.HUB_URL ?? 'http://127.0.0.1:4000';
const clientId = process.env.PARTNER_CLIENT_ID ?? '';
const clientSecret = process.env.PARTNER_CLIENT_SECRET ?? '';
const secretFile = process.env.PARTNER_SECRET_FILE ?? '';
const seen = new Set<string>();

function log(message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), service: 'partner', message, ...fields })}\n`,
  );
}

async function token(): Promise<string> {
  const response = await fetch(`${hub}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  if (!response.ok) throw new Error(`token refused: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function act(fulfillmentOrderId: string, action: string, body: unknown): Promise<number> {
  const response = await fetch(`${hub}/api/v1/fulfillment-orders/${fulfillmentOrderId}/${action}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await token()}`,
      'content-type': 'application/json',
      // Retry-safe: the same key replays the first answer if this partner restarts mid-way.
      'idempotency-key': `partner-${action}-${fulfillmentOrderId}`,
    },
    body: JSON.stringify(body),
  });
  return response.status;
}

/** What the partner's warehouse does with a request: accept it, then ship it (here, at once). */
async function fulfil(data: { id: string; orderNumber: string }): Promise<void> {
  const accepted = await act(data.id, 'accept', {});
  const trackingNumber = `1Z${String(Date.now()).slice(-10)}`;
  const shipped = await act(data.id, 'ship', { carrier: 'UPS', trackingNumber });
  log('fulfilled', { fulfillmentOrderId: data.id, orderNumber: data.orderNumber, accepted, shipped, trackingNumber });
}

http
  .createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: { type: string; data: { id: string; orderNumber: string } };
      try {
        const secret = fs.readFileSync(secretFile, 'utf8').trim();
        event = new Webhook(secret).verify(body, request.headers as Record<string, string>) as typeof event;
      } catch (error) {
        log('refused an unverifiable request', { error: String(error) });
        response.writeHead(400).end();
        return;
      }
      response.writeHead(204).end();
      const id = String(request.headers['webhook-id']);
      log('verified', { webhookId: id, type: event.type });
      if (seen.has(id)) return; // a retry of something already handled
      seen.add(id);
      if (event.type === 'fulfillment_order.requested') {
        fulfil(event.data).catch((error: Error) => log('could not fulfil', { error: error.message }));
      }
    });
  })
  .listen(port, '127.0.0.1', () => log('listening', { port }));
