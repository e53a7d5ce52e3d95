import { requestJson } from './http.ts';

/**
 * The storefront as a real hub client: its own API client (role `storefront`, created by an admin),
 * its token from the client-credentials grant, and the checkout calls it makes over REST.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read the hub's answers loosely and assert on them.
export type HubOrder = any;

/** POST /oauth/token (client credentials) → the bearer token. */
export async function clientCredentialsToken(hubUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  }).toString();
  const response = await requestJson<{ access_token?: string }>(hubUrl, 'POST', '/oauth/token', {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (response.status !== 200 || typeof response.body.access_token !== 'string') {
    throw new Error(`token for ${clientId} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body.access_token;
}

/** Creates a `storefront` API client with the admin's token → its own bearer token. */
export async function storefrontToken(hubUrl: string, adminToken: string, name = 'Storefront'): Promise<string> {
  const created = await requestJson<{ clientId?: string; clientSecret?: string }>(hubUrl, 'POST', '/api/v1/clients', {
    token: adminToken,
    body: { name, role: 'storefront' },
  });
  if (
    created.status !== 201 ||
    typeof created.body.clientId !== 'string' ||
    typeof created.body.clientSecret !== 'string'
  ) {
    throw new Error(`storefront client answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  return clientCredentialsToken(hubUrl, created.body.clientId, created.body.clientSecret);
}

export const testCustomer = { email: 'ines@example.com', name: 'Inès Laurent' };
export const testShippingAddress = {
  line1: 'Keizersgracht 1',
  city: 'Amsterdam',
  postalCode: '1015 CJ',
  country: 'NL',
  location: { lat: 52.37, lon: 4.89 },
};

async function expectStatus<T>(
  what: string,
  expected: number,
  response: Promise<{ status: number; body: T }>,
): Promise<T> {
  const { status, body } = await response;
  if (status !== expected) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** Checkout as a storefront does it: a hold on `lines`, an order over that hold → the order (pending_payment). */
export async function placeOrder(
  hubUrl: string,
  token: string,
  lines: Array<{ sku: string; quantity: number; configuration?: Record<string, string | number> }>,
): Promise<HubOrder> {
  const hold = await expectStatus(
    'reserve',
    201,
    requestJson<{ id: string }>(hubUrl, 'POST', '/api/v1/inventory/reserve', { token, body: { lines } }),
  );
  return expectStatus(
    'create order',
    201,
    requestJson<HubOrder>(hubUrl, 'POST', '/api/v1/orders', {
      token,
      body: { holdId: hold.id, customer: testCustomer, shippingAddress: testShippingAddress },
    }),
  );
}

/** POST /orders/{id}/payment → the order (processing, with a fulfillment order per warehouse). */
export function payOrder(
  hubUrl: string,
  token: string,
  orderId: string,
  reference = `psp_${orderId.slice(0, 8)}`,
): Promise<HubOrder> {
  return expectStatus(
    'payment',
    200,
    requestJson<HubOrder>(hubUrl, 'POST', `/api/v1/orders/${orderId}/payment`, { token, body: { reference } }),
  );
}

/** POST /orders/{id}/cancel → the order (canceled when unpaid, cancel_requested when paid). */
export function cancelOrder(
  hubUrl: string,
  token: string,
  orderId: string,
  reason = 'customer changed their mind',
): Promise<HubOrder> {
  return expectStatus(
    'cancel',
    200,
    requestJson<HubOrder>(hubUrl, 'POST', `/api/v1/orders/${orderId}/cancel`, { token, body: { reason } }),
  );
}

/** GET /orders/{id}. */
export function readOrder(hubUrl: string, token: string, orderId: string): Promise<HubOrder> {
  return expectStatus('read order', 200, requestJson<HubOrder>(hubUrl, 'GET', `/api/v1/orders/${orderId}`, { token }));
}
