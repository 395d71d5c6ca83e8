#!/usr/bin/env node
// Validates the deployment files: docker-compose.yml, deploy/prometheus.yml and the provisioned
// Grafana datasource and dashboard.
//   node scripts/validate-deploy.js                 structural checks, plus `docker-compose config`
//                                                   where Debian's docker-compose is installed
//   node scripts/validate-deploy.js --require-docker-compose   fail when it is not (CI)
// The structural checks parse the YAML and JSON themselves, so they run on any machine.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');
const YAML = require('yaml');

/** The ledger's roles as compose services, and the port each serves /metrics and the probes on. */
const ROLES = {
  'write-api': { portVariable: 'WRITE_API_PORT', defaultPort: 8080 },
  'read-api': { portVariable: 'READ_API_PORT', defaultPort: 8081 },
  processes: { portVariable: 'PROCESSES_METRICS_PORT', defaultPort: 9464 },
  projections: { portVariable: 'PROJECTIONS_METRICS_PORT', defaultPort: 9465 },
};

/** Metrics the dashboard must chart: DESIGN section 10 and issue 7's list of panels. */
const REQUIRED_DASHBOARD_METRICS = [
  'ledger_payments',
  'http_requests_total',
  'http_request_duration_seconds_bucket',
  'ledger_stripe_calls_total',
  'ledger_saga_queue_jobs',
  'ledger_projection_lag_events',
  'ledger_stuck_payments',
  'ledger_reconciliation_discrepancies_total',
];

const PROMQL_WORDS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'rate', 'irate', 'increase', 'histogram_quantile', 'le', 'on', 'ignoring',
  'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'topk', 'bottomk', 'abs', 'clamp_min', 'clamp_max', 'delta', 'deriv',
]);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or strings. */
function metricNamesIn(expr) {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const withoutGrouping = withoutStrings.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const names = [];
  for (const match of withoutGrouping.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b\s*(\()?/g)) {
    const [, name, call] = match;
    if (call || PROMQL_WORDS.has(name) || /^\d/.test(name)) continue;
    names.push(name);
  }
  return names;
}

function readYaml(file, errors) {
  try {
    const document = YAML.parseDocument(readFileSync(file, 'utf8'), { merge: true });
    for (const error of document.errors) errors.push(`${file}: ${error.message}`);
    return document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    errors.push(`${file}: ${error.message}`);
    return null;
  }
}

function validateCompose(root, errors) {
  const file = join(root, 'docker-compose.yml');
  const compose = readYaml(file, errors);
  if (!compose || typeof compose.services !== 'object') {
    errors.push('docker-compose.yml: no services');
    return null;
  }
  const services = compose.services;
  const names = Object.keys(services);
  const imageOf = (name) => String(services[name]?.image ?? '');
  const need = (label, predicate) => {
    if (!names.some(predicate)) errors.push(`docker-compose.yml: no ${label} service`);
  };
  need('KurrentDB/EventStoreDB', (n) => /kurrentdb|eventstore/.test(imageOf(n)));
  need('Postgres', (n) => /^postgres:/.test(imageOf(n)));
  need('Redis', (n) => /^redis:/.test(imageOf(n)));
  need('Prometheus', (n) => /prom\/prometheus/.test(imageOf(n)));
  need('Grafana', (n) => /grafana\/grafana/.test(imageOf(n)));

  const published = new Map();
  for (const name of names) {
    const service = services[name];
    if (!service.image && !service.build) errors.push(`service ${name}: neither image nor build`);
    const dependsOn = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const dependency of dependsOn) if (!services[dependency]) errors.push(`service ${name}: depends on unknown service ${dependency}`);
    for (const port of service.ports ?? []) {
      const host = String(port).split(':').slice(0, -1).join(':');
      if (!host) continue;
      if (published.has(host)) errors.push(`service ${name}: host port ${host} also published by ${published.get(host)}`);
      published.set(host, name);
    }
    for (const volume of service.volumes ?? []) {
      const source = String(typeof volume === 'string' ? volume.split(':')[0] : volume.source);
      if (source.startsWith('./') || source.startsWith('../')) {
        if (!existsSync(join(root, source))) errors.push(`service ${name}: mounts ${source}, which does not exist`);
      } else if (!compose.volumes || !(source in compose.volumes)) {
        errors.push(`service ${name}: named volume ${source} is not declared`);
      }
    }
  }

  const roles = {};
  for (const [role, { portVariable, defaultPort }] of Object.entries(ROLES)) {
    const service = services[role];
    if (!service) {
      errors.push(`docker-compose.yml: no service for the ${role} role`);
      continue;
    }
    const command = Array.isArray(service.command) ? service.command.join(' ') : String(service.command ?? '');
    if (!new RegExp(`--role\\s+${role}\\b`).test(command)) errors.push(`service ${role}: command does not start --role ${role}`);
    const environment = service.environment ?? {};
    if (Array.isArray(environment)) errors.push(`service ${role}: environment must be a map`);
    const port = Number(environment[portVariable] ?? defaultPort);
    roles[role] = { port, environment };
    if (!environment.DATABASE_URL) errors.push(`service ${role}: no DATABASE_URL`);
  }
  if (!services['stripe-sandbox'] && !Object.values(roles).every((r) => r.environment.STRIPE_SECRET_KEY)) {
    errors.push('docker-compose.yml: no stripe-sandbox service and no STRIPE_SECRET_KEY');
  }
  return { compose, roles };
}

function validatePrometheus(root, roles, errors) {
  const prometheus = readYaml(join(root, 'deploy/prometheus.yml'), errors);
  const targets = new Set();
  for (const job of prometheus?.scrape_configs ?? []) {
    for (const config of job.static_configs ?? []) for (const target of config.targets ?? []) targets.add(target);
  }
  for (const [role, { port }] of Object.entries(roles)) {
    if (!targets.has(`${role}:${port}`)) errors.push(`deploy/prometheus.yml: does not scrape ${role}:${port}`);
  }
}

function validateGrafana(root, compose, errors) {
  const datasources = readYaml(join(root, 'deploy/grafana/provisioning/datasources/prometheus.yml'), errors);
  const uids = new Set((datasources?.datasources ?? []).map((d) => d.uid));
  const prometheusSource = (datasources?.datasources ?? []).find((d) => d.type === 'prometheus');
  if (!prometheusSource) errors.push('grafana: no provisioned Prometheus datasource');
  else if (!/^http:\/\/prometheus:9090\/?$/.test(prometheusSource.url)) errors.push(`grafana: the datasource points to ${prometheusSource.url}, not the prometheus service`);

  const providers = readYaml(join(root, 'deploy/grafana/provisioning/dashboards/ledger.yml'), errors);
  const providerPath = providers?.providers?.[0]?.options?.path;
  const grafana = Object.values(compose?.services ?? {}).find((s) => /grafana\/grafana/.test(String(s.image)));
  const mounts = (grafana?.volumes ?? []).map((v) => String(v).split(':'));
  if (!mounts.some(([source, target]) => source === './deploy/grafana/dashboards' && target === providerPath)) {
    errors.push(`grafana: the dashboards folder is not mounted at the provider's path ${providerPath}`);
  }
  if (!mounts.some(([source, target]) => source === './deploy/grafana/provisioning' && target === '/etc/grafana/provisioning')) {
    errors.push('grafana: the provisioning folder is not mounted at /etc/grafana/provisioning');
  }

  const folder = join(root, 'deploy/grafana/dashboards');
  const file = join(folder, 'payment-ledger.json');
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    errors.push(`${file}: ${error.message}`);
    return [];
  }
  if (!dashboard.uid || !dashboard.title) errors.push('dashboard: uid and title are required');
  if (dashboard.id !== undefined && dashboard.id !== null) errors.push('dashboard: a provisioned dashboard must not carry an id');
  const ids = new Set();
  const metrics = [];
  for (const panel of dashboard.panels ?? []) {
    if (!Number.isInteger(panel.id) || ids.has(panel.id)) errors.push(`dashboard: panel "${panel.title}" has a missing or repeated id`);
    ids.add(panel.id);
    const grid = panel.gridPos ?? {};
    if (![grid.x, grid.y, grid.w, grid.h].every(Number.isInteger) || grid.x + grid.w > 24) errors.push(`dashboard: panel "${panel.title}" has a bad gridPos`);
    if (panel.type === 'row') continue;
    if (!panel.title) errors.push(`dashboard: panel ${panel.id} has no title`);
    if (!uids.has(panel.datasource?.uid)) errors.push(`dashboard: panel "${panel.title}" uses datasource ${panel.datasource?.uid}, which is not provisioned`);
    if (!Array.isArray(panel.targets) || panel.targets.length === 0) errors.push(`dashboard: panel "${panel.title}" has no query`);
    for (const target of panel.targets ?? []) {
      if (typeof target.expr !== 'string' || target.expr.trim() === '') errors.push(`dashboard: panel "${panel.title}" has an empty query`);
      else if (!balanced(target.expr)) errors.push(`dashboard: panel "${panel.title}": unbalanced brackets in ${target.expr}`);
      else metrics.push(...metricNamesIn(target.expr));
    }
  }
  for (const required of REQUIRED_DASHBOARD_METRICS) {
    if (!metrics.includes(required)) errors.push(`dashboard: no panel charts ${required}`);
  }
  return [...new Set(metrics)].sort();
}

function balanced(expr) {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  const stack = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

function dockerCompose(root) {
  const probe = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { available: false };
  const result = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', cwd: root });
  return { available: true, ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Every problem found, as messages; an empty array when the deployment files hold together. */
function validateDeploy(root = resolve(__dirname, '..'), options = {}) {
  const errors = [];
  for (const path of ['Dockerfile', 'docker-compose.yml', 'deploy/prometheus.yml', 'deploy/grafana/dashboards']) {
    if (!existsSync(join(root, path))) errors.push(`missing ${path}`);
  }
  if (existsSync(join(root, 'deploy/grafana/dashboards')) && !statSync(join(root, 'deploy/grafana/dashboards')).isDirectory()) errors.push('deploy/grafana/dashboards is not a folder');
  const compose = validateCompose(root, errors);
  if (compose) validatePrometheus(root, compose.roles, errors);
  const dashboardMetrics = validateGrafana(root, compose?.compose, errors);
  let dockerComposeRun = 'skipped';
  if (options.dockerCompose !== false) {
    const run = dockerCompose(root);
    if (!run.available) {
      if (options.requireDockerCompose) errors.push('docker-compose is not installed (apt-get install docker-compose)');
    } else {
      dockerComposeRun = run.ok ? 'passed' : 'failed';
      if (!run.ok) errors.push(`docker-compose config: ${run.output}`);
    }
  }
  return { errors, dashboardMetrics, roles: compose?.roles ?? {}, dockerCompose: dockerComposeRun };
}

module.exports = { validateDeploy, metricNamesIn, REQUIRED_DASHBOARD_METRICS, ROLES };

if (require.main === module) {
  const result = validateDeploy(resolve(__dirname, '..'), { requireDockerCompose: process.argv.includes('--require-docker-compose') });
  if (result.errors.length > 0) {
    for (const error of result.errors) console.error(`  ${error}`);
    console.error(`deploy validation failed: ${result.errors.length} problem(s)`);
    process.exit(1);
  }
  console.log(`deploy files valid (docker-compose config: ${result.dockerCompose}; dashboard charts ${result.dashboardMetrics.length} metrics)`);
}
