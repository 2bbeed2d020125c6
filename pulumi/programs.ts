/** The program for a silo stack, chosen by its region's provider. */
import type { PulumiFn } from '@pulumi/pulumi/automation/index.js';
import type { SiloSpec } from '../domain/index.js';

export async function siloProgram(spec: SiloSpec): Promise<PulumiFn> {
  switch (spec.region.provider) {
    case 'local':
      return (await import('./local/program.js')).localSiloProgram(spec);
    case 'aws':
      return (await import('./aws/program.js')).awsSiloProgram(spec);
    case 'gcp':
      return (await import('./gcp/program.js')).gcpSiloProgram(spec);
  }
}
