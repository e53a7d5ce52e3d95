import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type JsonObject = Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** Response headers whose presence must be documented for the response that carries them. */
const checkedHeaders = [
  'etag',
  'location',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'www-authenticate',
  'idempotent-replayed',
  'allow',
];

type Template = { path: string; pattern: RegExp; params: number };

/**
 * Checks a response a test received against an OpenAPI 3.1 document: the path and method are
 * documented (or the answer is the 404/405 for one that is not), the status is documented for the
 * operation, every checked header it carries is documented, and a JSON body matches the schema.
 * Returns what is wrong, or undefined. Bodies are validated with Ajv (JSON Schema 2020-12).
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  private readonly templates: Template[];
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly basePath: string;

  constructor(private readonly document: JsonObject) {
    addFormats(this.ajv);
    this.ajv.addSchema(document, 'openapi.json');
    const servers = (document['servers'] ?? [{ url: '/' }]) as Array<{ url: string }>;
    this.basePath = (servers[0]?.url ?? '/').replace(/\/$/, '');
    this.templates = Object.keys((document['paths'] ?? {}) as JsonObject)
      .map((path) => ({
        path,
        pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
        params: (path.match(/\{/g) ?? []).length,
      }))
      .sort((a, b) => a.params - b.params);
  }

  /** Whether responses to this URL path are the document's to describe. */
  covers(urlPath: string): boolean {
    return urlPath === this.basePath || urlPath.startsWith(`${this.basePath}/`);
  }

  check(method: string, urlPath: string, status: number, headers: Headers, body: unknown): string | undefined {
    if (!this.covers(urlPath)) return undefined;
    const sub = urlPath.slice(this.basePath.length) || '/';
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const paths = this.document['paths'] as Record<string, JsonObject>;
    const candidates = this.templates.filter((template) => template.pattern.test(sub));
    const where = `${method} ${urlPath} → ${status}`;
    if (candidates.length === 0) return status === 404 ? undefined : `${where}: no documented path matches`;
    const template = candidates.find((candidate) => paths[candidate.path]?.[verb]);
    if (!template) {
      if (status === 405 || status === 404) return undefined;
      return `${where}: ${verb.toUpperCase()} is documented on none of ${candidates.map((c) => c.path).join(', ')}`;
    }
    const operation = (paths[template.path]?.[verb] ?? {}) as JsonObject;
    const responses = operation['responses'] as Record<string, JsonObject>;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((candidate) => responses[candidate]);
    if (!key) {
      return `${where}: status ${status} is not documented for ${verb.toUpperCase()} ${template.path} (documented: ${Object.keys(responses).join(', ')})`;
    }
    const response = this.resolve(responses[key] as JsonObject);
    const documentedHeaders = new Set(
      Object.keys((response['headers'] ?? {}) as JsonObject).map((name) => name.toLowerCase()),
    );
    const undocumented = checkedHeaders.filter((name) => headers.has(name) && !documentedHeaders.has(name));
    if (undocumented.length > 0) return `${where}: header(s) ${undocumented.join(', ')} not documented`;
    const content = response['content'] as Record<string, JsonObject> | undefined;
    if (!content) return undefined;
    const contentType = ((headers.get('content-type') ?? '').split(';')[0] ?? '').trim();
    if (!content[contentType]) {
      if (status === 204 || body === undefined || body === '') return undefined;
      return `${where}: content-type ${contentType || '(none)'} is not documented (${Object.keys(content).join(', ')})`;
    }
    if (contentType !== 'application/json' || !content[contentType]?.['schema']) return undefined;
    const pointer = this.pointerTo(template.path, verb, key, responses[key] as JsonObject);
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: pointer });
      this.compiled.set(pointer, validate);
    }
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? [])
      .slice(0, 5)
      .map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`)
      .join('; ');
    return `${where}: body does not match the documented schema: ${errors}`;
  }

  private resolve(object: JsonObject): JsonObject {
    let current = object;
    for (let hops = 0; typeof current['$ref'] === 'string' && hops < 10; hops++) {
      const segments = (current['$ref'] as string).replace(/^#\//, '').split('/');
      let target: unknown = this.document;
      for (const segment of segments) target = (target as JsonObject)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
      current = target as JsonObject;
    }
    return current;
  }

  private pointerTo(path: string, verb: string, key: string, response: JsonObject): string {
    const escapeSegment = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
    if (typeof response['$ref'] === 'string') {
      return `openapi.json${response['$ref']}/content/application~1json/schema`;
    }
    return `openapi.json#/paths/${escapeSegment(path)}/${verb}/responses/${key}/content/application~1json/schema`;
  }
}
