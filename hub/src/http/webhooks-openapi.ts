import { limits, webhookEventCatalogue, webhookEventTypes } from '@dovetail/shared';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 `webhooks` section: one entry per event type of the catalogue in shared/, the
 * body `{type, timestamp, data}` with `data` generated from the same zod schema the hub checks each
 * payload against before it is written, and the Standard Webhooks headers every delivery carries.
 */
const headerParameters = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description:
      'The delivery id (msg_…): the same for every attempt of this event to this endpoint; deduplicate on it.',
    schema: { type: 'string' },
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description: 'Unix seconds when this attempt was signed; refuse requests more than 5 minutes off.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description:
      'Space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the bytes of the endpoint secret (whsec_…); two during the 24 h after a secret rotation. Accept the request if one matches.',
    schema: { type: 'string' },
  },
];

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

export function webhooksSection(): Record<string, unknown> {
  const section: Record<string, unknown> = {};
  for (const type of webhookEventTypes) {
    const entry = webhookEventCatalogue[type];
    section[type] = {
      post: {
        operationId: `webhook-${type.replace(/[^a-z_]/g, '-')}`,
        summary: entry.description,
        description: `Sent to endpoints subscribed to \`${type}\` (roles: ${entry.roles.join(', ')}). Answer 2xx within ${limits.webhookAttemptTimeoutMsDefault / 1000} s; any other answer is retried (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter; Retry-After honoured). 410 disables the endpoint. Redirects are not followed.`,
        tags: ['webhooks'],
        security: [],
        parameters: headerParameters,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['type', 'timestamp', 'data'],
                additionalProperties: false,
                properties: {
                  type: { type: 'string', const: type },
                  timestamp: { type: 'string', format: 'date-time' },
                  data: jsonSchemaOf(entry.data),
                },
              },
            },
          },
        },
        responses: {
          '200': { description: 'Received (any 2xx)' },
          '410': { description: 'Gone: the hub disables the endpoint' },
        },
      },
    };
  }
  return section;
}
