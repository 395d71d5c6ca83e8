import { loadConfig } from '../../../infra/config';
import { startSystem } from '../../../infra/system';
import type { Role, RunningSystem } from '../../../infra/system';
import { isolatedDatabase } from '../../support/postgres';
import { eventually, relayTo, type Relay } from './support';

const ROLE_URL: Record<Exclude<Role, 'all' | 'stripe-sandbox'>, string> = {
  processes: 'processes-metrics',
  'write-api': 'write-api',
  'read-api': 'read-api',
  projections: 'projections-metrics',
};

describe.each(Object.keys(ROLE_URL) as (keyof typeof ROLE_URL)[])('the %s role, started by the composition root', (role) => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let relay: Relay;
  let system: RunningSystem;
  let baseUrl: string;

  beforeAll(async () => {
    database = await isolatedDatabase('health');
    const target = new URL(database.url);
    relay = await relayTo(target);
    const viaRelay = new URL(database.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    const config = loadConfig({
      DATABASE_URL: viaRelay.toString(),
      HOST: '127.0.0.1',
      WRITE_API_PORT: '0',
      READ_API_PORT: '0',
      PROCESSES_METRICS_PORT: '0',
      PROJECTIONS_METRICS_PORT: '0',
      READYZ_TIMEOUT_MS: '500',
      SAGA_QUEUE: `health-${role}`,
      RECONCILIATION_CRON: 'off',
      LOG_LEVEL: 'error',
      DB_POOL_SIZE: '4',
    });
    system = await startSystem(config, role);
    baseUrl = system.urls[ROLE_URL[role]]!;
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  }, 60_000);

  afterAll(async () => {
    await relay.start().catch(() => undefined);
    await system?.stop();
    await relay.stop();
    await database.drop();
  }, 60_000);

  const probe = async (path: '/livez' | '/readyz') => {
    const response = await fetch(`${baseUrl}${path}`);
    return { status: response.status, body: (await response.json()) as { status: string; checks?: Record<string, { status: string }> } };
  };

  it('is live and ready while Postgres answers', async () => {
    expect(await probe('/livez')).toMatchObject({ status: 200, body: { status: 'live' } });
    expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { postgres: { status: 'up' } } } });
  });

  it('turns unready when Postgres stops, stays live, and is ready again once Postgres is back', async () => {
    await relay.stop();

    const down = await probe('/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unready', checks: { postgres: { status: 'down' } } });
    expect(await probe('/livez')).toMatchObject({ status: 200, body: { status: 'live' } });

    await relay.start();
    const back = await eventually(
      () => probe('/readyz'),
      (answer) => answer.status === 200,
      15_000,
    );
    expect(back).toEqual({ status: 200, body: { status: 'ready', checks: { postgres: { status: 'up' } } } });
  }, 30_000);

  it('serves its metrics on the same port', async () => {
    const response = await fetch(`${baseUrl}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const unready = new RegExp(`^http_requests_total\\{method="GET",route="/readyz",status_code="503",role="${role}"\\} (\\d+)$`, 'm').exec(text);
    expect(Number(unready?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{/m);
  });
});
