import type { Migration } from '../migrate';
import { eventStore } from './001-event-store';
import { apiKeys } from './002-api-keys';
import { stripeSandboxMigration } from '../../stripe-sandbox/migration';
import { readModels } from './004-read-models';
import { sagaWork } from './005-saga-work';
import { reconciliation } from './006-reconciliation';

/** Every migration, in the order it is applied. Append only: never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [eventStore, apiKeys, stripeSandboxMigration, readModels, sagaWork, reconciliation];
