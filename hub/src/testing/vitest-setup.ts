import { afterAll } from 'vitest';
import { dropTestSchemas } from './postgres-schemas.ts';

// Runs after the file's own afterAll hooks (vitest runs after-hooks in reverse order), once its hubs
// are closed: the PostgreSQL schemas the file used are dropped.
afterAll(() => dropTestSchemas());
