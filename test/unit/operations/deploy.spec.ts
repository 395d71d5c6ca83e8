import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { configSchema } from '../../../infra/config';
import { createMetrics } from '../../../infra/metrics';

// The validator is the script CI runs (`npm run validate:deploy`); here it is also made to fail.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { validateDeploy, metricNamesIn } = require('../../../scripts/validate-deploy.js') as {
  validateDeploy(root: string, options?: { dockerCompose?: boolean }): { errors: string[]; dashboardMetrics: string[]; roles: Record<string, { environment: Record<string, string> }> };
  metricNamesIn(expr: string): string[];
};

const root = resolve(__dirname, '../../..');

/** A copy of the deployment files to break one thing in. */
function copyWith(change: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-deploy-'));
  for (const path of ['Dockerfile', 'docker-compose.yml', 'deploy']) cpSync(join(root, path), join(dir, path), { recursive: true });
  change(dir);
  return dir;
}

describe('the deployment files', () => {
  it('hold together: every role a service, scraped by Prometheus, and a dashboard on the provisioned datasource', () => {
    expect(validateDeploy(root, { dockerCompose: false }).errors).toEqual([]);
  });

  it('chart only metrics the ledger defines', async () => {
    const defined = new Set((await createMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name));
    const charted = validateDeploy(root, { dockerCompose: false }).dashboardMetrics.map((name) => name.replace(/_(bucket|sum|count)$/, ''));
    expect(charted.filter((name) => !defined.has(name))).toEqual([]);
  });

  it("give every ledger service an environment the ledger's configuration schema accepts", () => {
    const compose = YAML.parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command?: string[]; environment?: Record<string, string> }> };
    const ledger = Object.entries(compose.services).filter(([, service]) => service.command?.includes('--role'));
    expect(ledger.map(([name]) => name).sort()).toEqual(['processes', 'projections', 'read-api', 'stripe-sandbox', 'write-api']);
    for (const [name, service] of ledger) {
      const parsed = configSchema.safeParse(service.environment);
      expect({ name, issues: parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }).toEqual({ name, issues: [] });
      expect(parsed.data?.EVENTSTORE_URL).toBe('esdb://kurrentdb:2113?tls=false');
    }
  });

  describe('when something is broken', () => {
    it('names a role Prometheus does not scrape', () => {
      const dir = copyWith((d) => {
        const file = join(d, 'deploy/prometheus.yml');
        writeFileSync(file, readFileSync(file, 'utf8').replace('projections:9465', 'projections:9999'));
      });
      expect(validateDeploy(dir, { dockerCompose: false }).errors).toEqual(['deploy/prometheus.yml: does not scrape projections:9465']);
    });

    it('names a required metric no panel charts, and a panel on an unknown datasource', () => {
      const dir = copyWith((d) => {
        const file = join(d, 'deploy/grafana/dashboards/payment-ledger.json');
        const dashboard = JSON.parse(readFileSync(file, 'utf8'));
        dashboard.panels = dashboard.panels.filter((panel: { title: string }) => panel.title !== 'Stuck payments');
        dashboard.panels.find((panel: { title: string }) => panel.title === 'Breaker').datasource = { type: 'prometheus', uid: 'nope' };
        writeFileSync(file, JSON.stringify(dashboard));
      });
      expect(validateDeploy(dir, { dockerCompose: false }).errors).toEqual([
        'dashboard: panel "Breaker" uses datasource nope, which is not provisioned',
        'dashboard: no panel charts ledger_stuck_payments',
      ]);
    });

    it('names a dependency on a service that does not exist', () => {
      const dir = copyWith((d) => {
        const file = join(d, 'docker-compose.yml');
        writeFileSync(file, readFileSync(file, 'utf8').replace('      - projections\n', '      - projectionz\n'));
      });
      expect(validateDeploy(dir, { dockerCompose: false }).errors).toEqual(['service prometheus: depends on unknown service projectionz']);
    });
  });

  it('reads metric names out of PromQL, not functions, labels or strings', () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{status_code=~"5.."}[5m])))')).toEqual([
      'http_request_duration_seconds_bucket',
    ]);
  });
});
