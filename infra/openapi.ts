import { z } from 'zod';
import type { Scope } from '../ports/api-keys';
import { createPaymentSchema } from '../commands/create-payment';
import { capturePaymentSchema } from '../commands/capture-payment';
import { cancelPaymentSchema } from '../commands/cancel-payment';
import { refundPaymentSchema } from '../commands/refund-payment';
import { ACCOUNT, accountQuery, listEntriesQuery, listPaymentsQuery, PAYMENT_ID, PAYMENT_STATUSES } from '../read-api/params';
import { reconciliationRunSchema, resolveDiscrepancySchema } from '../write-api/reconciliation';
import { PROBLEM_STATUS } from './http/problem';
import type { ProblemCode } from './http/problem';

/**
 * OpenAPI 3.1 for both APIs, generated from the zod schemas that validate the requests (commands/
 * and read-api/params.ts): a field added to a command schema appears here with no other change.
 * Responses are described by the zod schemas below. test/integration/operations/openapi.spec.ts
 * checks that every documented route exists in the express apps and every route is documented.
 */
export type OpenApiDocument = {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: Record<string, unknown>;
  readonly [extra: string]: unknown;
};

export type Api = 'write' | 'read';
type Method = 'get' | 'post';

interface Response {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Problem codes this answer can carry; their statuses come from infra/http/problem.ts. */
  readonly problems?: readonly ProblemCode[];
  readonly contentType?: string;
}

interface OperationSpec {
  readonly method: Method;
  /** The express route template, `:name` for a path parameter. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly description?: string;
  /** The scope the API key needs; null for unauthenticated operations. */
  readonly scope: Scope | null;
  readonly idempotencyKey?: boolean;
  readonly minPosition?: boolean;
  readonly body?: z.ZodType;
  readonly rawBody?: { readonly contentType: string; readonly description: string };
  readonly query?: z.ZodType;
  readonly headers?: readonly { readonly name: string; readonly required: boolean; readonly description: string }[];
  readonly ok: { readonly status: number } & Response;
  readonly problems: readonly ProblemCode[];
  /** Path parameters named differently from PATH_PARAMS' defaults. */
  readonly params?: Readonly<Record<string, { readonly pattern: RegExp; readonly description: string }>>;
}

// ---- response shapes -------------------------------------------------------------------------------

const minor = z.number().int().describe('integer minor units of the currency');
const position = z.string().regex(/^\d{1,20}:\d{1,20}$/).describe('event-store position "<commit>:<prepare>"');
const timestamp = z.iso.datetime();

const paymentFields = {
  id: z.uuid(),
  object: z.literal('payment'),
  status: z.enum(PAYMENT_STATUSES),
  amount: minor,
  currency: z.string(),
  customer_id: z.string(),
  capture_method: z.enum(['automatic', 'manual']),
  amount_captured: minor,
  amount_refunded: minor,
  fee: minor.nullable(),
  net: minor.nullable(),
  failure_code: z.string().nullable(),
  failure_message: z.string().nullable(),
  description: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  created_at: timestamp,
  updated_at: timestamp,
  revision: z.number().int().min(0),
  position,
};

export const paymentResponse = z.object(paymentFields).meta({ id: 'Payment' });
const readPaymentResponse = z.object({ ...paymentFields, merchant_id: z.string() }).meta({ id: 'PaymentRow' });

export const refundResponse = z
  .object({
    id: z.uuid(),
    object: z.literal('refund'),
    payment_id: z.uuid(),
    amount: minor,
    currency: z.string(),
    reason: z.string().nullable(),
    status: z.string(),
    created_at: timestamp,
    revision: z.number().int().min(0),
    position,
  })
  .meta({ id: 'Refund' });

const list = (item: z.ZodType) => z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });

const balance = z.object({
  currency: z.string(),
  debits_pending: minor,
  credits_pending: minor,
  debits_posted: minor,
  credits_posted: minor,
});

const ledgerAccount = z.object({ object: z.literal('ledger_account'), id: z.string(), balances: z.array(balance) }).meta({ id: 'LedgerAccount' });

const ledgerEntry = z
  .object({
    id: z.string(),
    object: z.literal('ledger_entry'),
    payment_id: z.uuid(),
    kind: z.string(),
    phase: z.string(),
    pending_entry_id: z.string().nullable(),
    debit_account: z.string(),
    credit_account: z.string(),
    amount: minor,
    currency: z.string(),
    position,
    created_at: timestamp,
  })
  .meta({ id: 'LedgerEntry' });

const streamEvent = z
  .object({
    id: z.uuid(),
    type: z.string(),
    revision: z.number().int().min(0),
    position,
    recorded_at: timestamp,
    data: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'StreamEvent' });

const paymentEvents = z
  .object({
    object: z.literal('list'),
    stream_id: z.string(),
    chain: z.object({ verified: z.boolean(), revision: z.number().int().optional(), reason: z.string().optional() }),
    data: z.array(streamEvent),
    has_more: z.boolean(),
  })
  .meta({ id: 'PaymentEvents' });

export const problemResponse = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(PROBLEM_STATUS) as [ProblemCode, ...ProblemCode[]]),
    instance: z.string(),
    detail: z.string().optional(),
    reason: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable code' });

const liveness = z.object({ status: z.literal('live'), uptime_seconds: z.number().int() });
const readinessSchema = z.object({
  status: z.enum(['ready', 'unready']),
  checks: z.record(z.string(), z.object({ status: z.enum(['up', 'down']), error: z.string().optional() })),
});

// ---- the operations --------------------------------------------------------------------------------

const AUTH_PROBLEMS: readonly ProblemCode[] = ['unauthorized', 'forbidden', 'rate_limited'];
const COMMAND_PROBLEMS: readonly ProblemCode[] = [
  ...AUTH_PROBLEMS,
  'validation_failed',
  'malformed_json',
  'payload_too_large',
  'unsupported_media_type',
  'card_data_not_accepted',
  'idempotency_key_missing',
  'idempotency_key_reused',
  'request_timeout',
];

const OPERATIONS_ROUTES: readonly OperationSpec[] = [
  {
    method: 'get',
    path: '/livez',
    operationId: 'livez',
    summary: 'Liveness: the process runs (no dependency is checked)',
    tag: 'operations',
    scope: null,
    ok: { status: 200, description: 'the process is live', schema: liveness },
    problems: [],
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: every dependency of this role answers (Postgres, Redis when configured)',
    tag: 'operations',
    scope: null,
    ok: { status: 200, description: 'ready; 503 with the same shape when a dependency is down', schema: readinessSchema },
    problems: [],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics of this process',
    tag: 'operations',
    scope: null,
    ok: { status: 200, description: 'Prometheus text exposition format', contentType: 'text/plain; version=0.0.4' },
    problems: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'operations',
    scope: null,
    ok: { status: 200, description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) },
    problems: [],
  },
];

const paymentCommand = (spec: Pick<OperationSpec, 'path' | 'operationId' | 'summary' | 'body'> & { refund?: boolean; extra: readonly ProblemCode[] }): OperationSpec => ({
  method: 'post',
  path: spec.path,
  operationId: spec.operationId,
  summary: spec.summary,
  tag: 'payments',
  scope: 'payments:write',
  idempotencyKey: true,
  ...(spec.body ? { body: spec.body } : {}),
  ok: {
    status: 202,
    description: 'accepted; a replay of the same key and body answers the same, with `Idempotent-Replayed: true`',
    schema: spec.refund ? refundResponse : paymentResponse,
  },
  problems: [...COMMAND_PROBLEMS, ...spec.extra],
});

const WRITE_ROUTES: readonly OperationSpec[] = [
  paymentCommand({ path: '/v1/payments', operationId: 'createPayment', summary: 'Create a payment', body: createPaymentSchema, extra: [] }),
  paymentCommand({
    path: '/v1/payments/:id/capture',
    operationId: 'capturePayment',
    summary: 'Capture an authorized payment, in full or in part',
    body: capturePaymentSchema,
    extra: ['payment_not_found', 'invalid_state_transition', 'capture_exceeds_authorized'],
  }),
  paymentCommand({
    path: '/v1/payments/:id/cancel',
    operationId: 'cancelPayment',
    summary: 'Cancel a payment before it is captured',
    body: cancelPaymentSchema,
    extra: ['payment_not_found', 'invalid_state_transition'],
  }),
  paymentCommand({
    path: '/v1/payments/:id/refunds',
    operationId: 'refundPayment',
    summary: 'Refund a captured payment, in full or in part',
    body: refundPaymentSchema,
    refund: true,
    extra: ['payment_not_found', 'invalid_state_transition', 'refund_exceeds_captured'],
  }),
  {
    method: 'post',
    path: '/v1/webhooks/stripe',
    operationId: 'stripeWebhook',
    summary: "Stripe's webhook intake (signature verified on the raw body, 300 s tolerance)",
    tag: 'webhooks',
    scope: null,
    rawBody: { contentType: 'application/json', description: 'the Stripe event exactly as Stripe sent it' },
    headers: [{ name: 'Stripe-Signature', required: true, description: 'Stripe webhook signature' }],
    ok: { status: 200, description: 'stored (a redelivery is a no-op)', schema: z.object({ received: z.literal(true) }) },
    problems: ['webhook_signature_invalid', 'payload_too_large'],
  },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const reconciliationRun = z.record(z.string(), z.unknown()).meta({ id: 'ReconciliationRun', description: 'a reconciliation run folded from its stream' });

const RECONCILIATION_WRITE_ROUTES: readonly OperationSpec[] = [
  {
    method: 'post',
    path: '/v1/reconciliation/runs',
    operationId: 'requestReconciliationRun',
    summary: 'Ask for a reconciliation run over a time window (platform operators)',
    tag: 'reconciliation',
    scope: 'admin',
    idempotencyKey: true,
    body: reconciliationRunSchema,
    ok: { status: 202, description: 'the run, requested; the processes role executes it', schema: reconciliationRun },
    problems: COMMAND_PROBLEMS,
  },
  {
    method: 'post',
    path: '/v1/reconciliation/discrepancies/:id/resolve',
    operationId: 'resolveDiscrepancy',
    summary: "Record a person's resolution of a discrepancy",
    tag: 'reconciliation',
    scope: 'admin',
    idempotencyKey: true,
    body: resolveDiscrepancySchema,
    params: { id: { pattern: UUID, description: 'the discrepancy id' } },
    ok: { status: 200, description: 'the resolved discrepancy', schema: z.record(z.string(), z.unknown()) },
    problems: [...COMMAND_PROBLEMS, 'discrepancy_not_found', 'discrepancy_not_open'],
  },
];

const READ_ROUTES: readonly OperationSpec[] = [
  {
    method: 'get',
    path: '/v1/reconciliation/runs/:id',
    operationId: 'getReconciliationRun',
    summary: 'A reconciliation run with its discrepancies (platform operators)',
    tag: 'reconciliation',
    scope: 'admin',
    params: { id: { pattern: UUID, description: 'the run id' } },
    ok: { status: 200, description: 'the run', schema: reconciliationRun },
    problems: [...AUTH_PROBLEMS, 'run_not_found', 'request_timeout'],
  },
  {
    method: 'get',
    path: '/v1/payments',
    operationId: 'listPayments',
    summary: "List the merchant's payments, newest first, cursor-paginated",
    tag: 'payments',
    scope: 'payments:read',
    minPosition: true,
    query: listPaymentsQuery,
    ok: { status: 200, description: 'a page of payments', schema: list(readPaymentResponse) },
    problems: [...AUTH_PROBLEMS, 'validation_failed', 'payment_not_found', 'request_timeout'],
  },
  {
    method: 'get',
    path: '/v1/payments/:id',
    operationId: 'getPayment',
    summary: 'One payment from the payments read model',
    tag: 'payments',
    scope: 'payments:read',
    minPosition: true,
    ok: { status: 200, description: 'the payment', schema: readPaymentResponse },
    problems: [...AUTH_PROBLEMS, 'validation_failed', 'payment_not_found', 'request_timeout'],
  },
  {
    method: 'get',
    path: '/v1/payments/:id/events',
    operationId: 'getPaymentEvents',
    summary: "The payment's stream itself, with its hash chain verified",
    tag: 'audit',
    scope: 'audit:read',
    ok: { status: 200, description: 'every event of the stream', schema: paymentEvents },
    problems: [...AUTH_PROBLEMS, 'payment_not_found', 'request_timeout'],
  },
  {
    method: 'get',
    path: '/v1/ledger/accounts/:account',
    operationId: 'getLedgerAccount',
    summary: 'Balances of a ledger account per currency (platform accounts need the admin scope)',
    tag: 'ledger',
    scope: 'payments:read',
    minPosition: true,
    query: accountQuery,
    ok: { status: 200, description: 'the balances', schema: ledgerAccount },
    problems: [...AUTH_PROBLEMS, 'validation_failed', 'account_not_found', 'request_timeout'],
  },
  {
    method: 'get',
    path: '/v1/ledger/accounts/:account/entries',
    operationId: 'listLedgerEntries',
    summary: 'Entries on either side of a ledger account, newest first',
    tag: 'ledger',
    scope: 'payments:read',
    minPosition: true,
    query: listEntriesQuery,
    ok: { status: 200, description: 'a page of entries', schema: list(ledgerEntry) },
    problems: [...AUTH_PROBLEMS, 'validation_failed', 'account_not_found', 'request_timeout'],
  },
];

const PATH_PARAMS: Record<string, { readonly pattern: RegExp; readonly description: string }> = {
  id: { pattern: PAYMENT_ID, description: 'the payment id (a uuid)' },
  account: { pattern: ACCOUNT, description: '`stripe_balance` or `merchant_payable:<merchant>`' },
};

/** Routes documented for each API: its own, then the operations routes both serve. */
export function documentedOperations(api: Api, extra: readonly OperationSpec[] = []): readonly OperationSpec[] {
  return [...(api === 'write' ? [...WRITE_ROUTES, ...RECONCILIATION_WRITE_ROUTES] : READ_ROUTES), ...extra, ...OPERATIONS_ROUTES];
}

export type { OperationSpec };

// ---- generation ------------------------------------------------------------------------------------

/**
 * Named schemas (`.meta({ id })`) of the document being generated: zod writes them as local
 * `$defs`, which inside an OpenAPI document would resolve against the document's root, so they are
 * hoisted into components.schemas and the references rewritten to point there.
 */
let components: Record<string, unknown> = {};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as Record<string, unknown>;
  const { $schema: _dialect, $defs, ...rest } = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>;
  Object.assign(components, ($defs ?? {}) as Record<string, unknown>);
  return rest;
}

/** `/v1/payments/:id` as OpenAPI writes it: `/v1/payments/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function queryParameters(schema: z.ZodType): unknown[] {
  const generated = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(generated.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: generated.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operationObject(spec: OperationSpec): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [, name] of spec.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    const param = spec.params?.[name!] ?? PATH_PARAMS[name!];
    if (!param) throw new Error(`openapi: no description for path parameter :${name} of ${spec.path}`);
    parameters.push({ name, in: 'path', required: true, description: param.description, schema: { type: 'string', pattern: param.pattern.source } });
  }
  if (spec.query) parameters.push(...queryParameters(spec.query));
  if (spec.idempotencyKey) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: true,
      description: 'scoped to the merchant and kept forever: the same key and body replays the first answer',
      schema: { type: 'string', pattern: '^[\\x20-\\x7e]{1,255}$' },
    });
  }
  if (spec.minPosition) {
    parameters.push({
      name: 'X-Min-Position',
      in: 'header',
      required: false,
      description: 'read-your-writes: wait up to 5 s for the read model to reach this position (as the write API returned it)',
      schema: { type: 'string', pattern: '^\\d{1,20}:\\d{1,20}$' },
    });
  }
  parameters.push({ name: 'X-Correlation-Id', in: 'header', required: false, description: 'echoed back; follows the request into events and logs', schema: { type: 'string' } });
  for (const header of spec.headers ?? []) parameters.push({ name: header.name, in: 'header', required: header.required, description: header.description, schema: { type: 'string' } });

  const responses: Record<string, unknown> = {
    [String(spec.ok.status)]: {
      description: spec.ok.description,
      content: { [spec.ok.contentType ?? 'application/json']: spec.ok.schema ? { schema: jsonSchema(spec.ok.schema, 'output') } : {} },
    },
  };
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of spec.problems) byStatus.set(PROBLEM_STATUS[code], [...(byStatus.get(PROBLEM_STATUS[code]) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `problem: ${codes.join(', ')}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  if (spec.path === '/readyz') {
    responses['503'] = { description: 'a dependency is down', content: { 'application/json': { schema: jsonSchema(readinessSchema, 'output') } } };
  }

  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: spec.scope ? [{ apiKey: [spec.scope] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
    ...(spec.rawBody ? { requestBody: { required: true, description: spec.rawBody.description, content: { [spec.rawBody.contentType]: { schema: { type: 'object' } } } } } : {}),
    responses,
  };
}

const TITLES: Record<Api, string> = { write: 'Payment ledger: write API', read: 'Payment ledger: read API' };
const DESCRIPTIONS: Record<Api, string> = {
  write:
    'Commands on payments (create, capture, cancel, refund) and Stripe webhook intake. JSON, snake_case, amounts in integer minor units; every POST but the webhook needs an Idempotency-Key.',
  read: "Queries over the read models (payments, the double-entry ledger) and, for auditors, the payment streams with their hash chains.",
};

export function openApiDocument(api: Api, options: { readonly version?: string; readonly extra?: readonly OperationSpec[] } = {}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  components = {};
  const problem = jsonSchema(problemResponse, 'output');
  for (const spec of documentedOperations(api, options.extra)) {
    const path = openApiPath(spec.path);
    paths[path] = { ...paths[path], [spec.method]: operationObject(spec) };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: TITLES[api], version: options.version ?? '0.1.0', description: DESCRIPTIONS[api] },
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key (lk_test_... or lk_live_...) with the scopes the call needs' } },
      schemas: { ...components, ...(problem.$ref ? {} : { Problem: problem }) },
    },
  };
}

// ---- the route check -------------------------------------------------------------------------------

export interface RouteKey {
  readonly method: string;
  readonly path: string;
}

/** `GET /v1/payments/{id}` for every operation of the document. */
export function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  name?: string;
}

/**
 * Every route an express app answers, as `METHOD /openapi/{path}`, found by walking its router
 * stack (routers mounted at the root included). Express 5 keeps the stack on `app.router`.
 */
export function expressRoutes(app: { router?: unknown; _router?: unknown }): string[] {
  const root = (app.router ?? app._router) as { stack?: RouterLayer[] } | undefined;
  const found = new Set<string>();
  const walk = (stack: readonly RouterLayer[] | undefined) => {
    for (const layer of stack ?? []) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          for (const [method, enabled] of Object.entries(layer.route.methods)) {
            if (enabled && method !== '_all') found.add(`${method.toUpperCase()} ${openApiPath(path)}`);
          }
        }
      } else if (layer.name === 'router' && layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk(root?.stack);
  return [...found].sort();
}
