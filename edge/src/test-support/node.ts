import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { OpenApiResponseValidator } from '@dovetail/shared/openapi-check';
import { edgeOpenApiDocument } from '../http/openapi.ts';
import { type EdgeNode, type EdgeNodeOptions, createEdgeNode } from '../node.ts';

/** A cheap scrypt for tests that sign in often; production never lowers it. */
export const testPasswordCost = { N: 2 ** 10, r: 8, p: 1 };
export const supervisor = { username: 'lead', password: 'lead-password-123' };

export type TestEdge = EdgeNode & {
  dataDir: string;
  login(username?: string, password?: string): Promise<string>;
  call(
    method: string,
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
};

/** A real edge node on a real SQLite file in a fresh temporary directory, driven in-process. */
export async function startTestEdge(options: Partial<EdgeNodeOptions> = {}): Promise<TestEdge> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-edge-test-'));
  const node = await createEdgeNode({
    dataDir,
    warehouseId: 'W1',
    bootstrapStaff: `${supervisor.username}:${supervisor.password}`,
    logger: pino({ level: 'silent' }),
    passwordCost: testPasswordCost,
    ...options,
  });
  const call: TestEdge['call'] = async (method, url, { token, body, headers = {} } = {}) => {
    const response = await node.app.request(url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    await checkAgainstDocument(method, url, response);
    return response;
  };
  return {
    ...node,
    dataDir,
    call,
    async login(username = supervisor.username, password = supervisor.password) {
      const response = await call('POST', '/api/v1/login', { body: { username, password } });
      if (response.status !== 200) throw new Error(`login ${username} answered ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
  };
}

let validator: OpenApiResponseValidator | undefined;

/**
 * Every `/api/v1` response a test receives through `call` is checked against the edge's OpenAPI
 * document (status, headers, body schema): a drift between code and contract fails the test.
 */
async function checkAgainstDocument(method: string, url: string, response: Response): Promise<void> {
  validator ??= new OpenApiResponseValidator(edgeOpenApiDocument());
  const text = await response.clone().text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: checked as text
  }
  const violation = validator.check(
    method,
    new URL(url, 'http://edge').pathname,
    response.status,
    response.headers,
    body,
  );
  if (violation) throw new Error(`response differs from the OpenAPI document: ${violation}`);
}

export async function stopTestEdge(edge: TestEdge, options: { keepData?: boolean } = {}): Promise<void> {
  await edge.close();
  if (!options.keepData) fs.rmSync(edge.dataDir, { recursive: true, force: true });
}
