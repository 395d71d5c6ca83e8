import { Pool } from 'pg';
import type { ApiKeyAuthenticator } from '../../../ports/api-keys';
import type { EventStore } from '../../../ports/event-store';
import { createMetrics } from '../../../infra/metrics';
import { documentedRoutes, expressRoutes, openApiDocument } from '../../../infra/openapi';
import type { OpenApiDocument } from '../../../infra/openapi';
import { apiOperations } from '../../../infra/telemetry';
import { createReadApi } from '../../../read-api/app';
import { createWriteApi } from '../../../write-api/app';

/**
 * The OpenAPI documents against the express apps themselves: every route either API answers is
 * documented, and every documented operation is a route. The apps are built with every optional
 * part mounted (webhooks, reconciliation, operations routes), as the composition root mounts them.
 */
const noStore = {} as EventStore;
const noKeys: ApiKeyAuthenticator = { authenticate: async () => null };
// A pool that is never connected: building the apps must not touch the database.
const pool = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });

function operations(document: OpenApiDocument) {
  return apiOperations({ metrics: createMetrics(), checks: [], document });
}

function writeApp(document = openApiDocument('write')) {
  return createWriteApi({
    store: noStore,
    apiKeys: noKeys,
    clock: () => new Date(),
    bodyLimitBytes: 65_536,
    logError: () => undefined,
    webhooks: { secrets: ['whsec_test0secret'] },
    reconciliation: { pool },
    operations: operations(document),
  });
}

function readApp(document = openApiDocument('read')) {
  return createReadApi({
    pool,
    store: noStore,
    apiKeys: noKeys,
    logError: () => undefined,
    checkpoints: { waitFor: async () => ({ reached: true, position: null }), stop: () => undefined },
    operations: operations(document),
  });
}

afterAll(() => pool.end());

describe.each([
  ['write', () => writeApp(), openApiDocument('write')],
  ['read', () => readApp(), openApiDocument('read')],
] as const)('the %s API', (_api, build, document) => {
  it('documents every route its express app answers, and answers every documented route', () => {
    const routes = expressRoutes(build());
    expect(routes.length).toBeGreaterThan(5);
    expect(documentedRoutes(document)).toEqual(routes);
  });

  it('is OpenAPI 3.1 whose operations have unique ids, responses, and only references that resolve', () => {
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item)) as { operationId: string; responses: object }[];
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
    for (const [, name] of JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(schemas).toHaveProperty(name!);
    expect(JSON.stringify(document)).not.toMatch(/"\$ref":"#\/(?!components\/schemas\/)/);
  });
});

describe('the write API document', () => {
  const document = openApiDocument('write');
  const create = (document.paths['/v1/payments'] as { post: any }).post;

  it('takes the create-payment body from the command schema, constraints included', () => {
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['amount', 'currency', 'customer_id', 'payment_method']);
    expect(schema.properties.amount).toMatchObject({ type: 'integer', minimum: 1, maximum: 99_999_999 });
    expect(schema.properties.capture_method).toMatchObject({ enum: ['automatic', 'manual'], default: 'automatic' });
    expect(schema.additionalProperties).toBe(false);
  });

  it('requires the Idempotency-Key header and names the problems a create can answer', () => {
    expect(create.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true })]));
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '413', '415', '422', '429']));
    expect(create.security).toEqual([{ apiKey: ['payments:write'] }]);
  });

  it('describes path parameters with the pattern the route enforces', () => {
    const capture = (document.paths['/v1/payments/{id}/capture'] as { post: any }).post;
    expect(capture.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true, schema: { pattern: expect.stringContaining('[0-9a-f]{8}') } });
  });
});

describe('the served document', () => {
  it('is the generated one at /openapi.json, and Swagger UI answers under /docs', async () => {
    const document = openApiDocument('read');
    const server = readApp(document).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(await (await fetch(`${base}/openapi.json`)).json()).toEqual(JSON.parse(JSON.stringify(document)));
      const docs = await fetch(`${base}/docs/`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger-ui');
      const init = await (await fetch(`${base}/docs/swagger-ui-init.js`)).text();
      expect(init).toContain('"title": "Payment ledger: read API"');
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
