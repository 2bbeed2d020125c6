/**
 * Starts the servers as the test run's global setup does, prints READY, and dies at once
 * (SIGKILL: no handler, no finally, nothing of its own can stop them). The e2e suite checks that
 * the servers it started stop anyway.
 */
import { loadConfig } from '../../config/index.js';
import { startInfrastructure } from '../../scripts/servers/infrastructure.js';

const config = loadConfig();
await startInfrastructure(config, process.env.LANDLORD_SECRET!);
console.log('READY');
process.kill(process.pid, 'SIGKILL');
