import { openApiDocument } from './http/openapi.ts';
import { appRouter } from './http/root.ts';

/**
 * The hub's REST contract, the OpenAPI 3.1 document served at `/api/v1/openapi.json`. A root file
 * composes it so the test harness (`testing/`, below `http/` like every feature) can check answers
 * against it without importing `http/`.
 */
export function restDocument(): Record<string, unknown> {
  return openApiDocument(appRouter);
}
