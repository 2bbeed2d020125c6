/**
 * Runs a Pulumi program against `pulumi.runtime.setMocks` and records every resource it registers,
 * so a test can assert on what would be sent to the cloud. setMocks is process-wide: run one
 * program at a time.
 */
import * as pulumi from '@pulumi/pulumi';

type MockCallArgs = pulumi.runtime.MockCallArgs;
type MockResourceArgs = pulumi.runtime.MockResourceArgs;

/** A resource as the program declared it: its inputs and the region of the provider it went to. */
export interface RecordedResource {
  type: string;
  name: string;
  custom: boolean;
  // Inputs are whatever the SDK serialised; tests narrow them where they read them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inputs: Record<string, any>;
  /** Logical name of the explicit provider the resource was created with, if any. */
  providerName?: string;
}

export interface MockCloud {
  /** Output properties the fake cloud adds to a new resource (ids, ARNs, names). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  state(resource: RecordedResource & { providerInputs?: Record<string, any> }): Record<string, any>;
  /** Results of data-source invokes; throw for any token the program should not call. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(args: MockCallArgs): Record<string, any>;
}

export interface ProgramRun<T> {
  resources: RecordedResource[];
  outputs: T;
}

/** Resolves a plain value of a pulumi.Output (the mocks run as an update, never a preview). */
export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

type Resolved<T> = { [K in keyof T]: T[K] extends pulumi.Output<infer U> | undefined ? U : T[K] };

async function resolveOutputs<T extends object>(outputs: T): Promise<Resolved<T>> {
  const entries = await Promise.all(
    Object.entries(outputs).map(async ([key, value]) => [
      key,
      pulumi.Output.isInstance(value) ? await outputValue(value) : value,
    ]),
  );
  return Object.fromEntries(entries) as Resolved<T>;
}

/** Installs fresh mocks, runs the program, waits for every registration and returns what it made. */
export async function runProgram<T extends object>(
  cloud: MockCloud,
  stack: string,
  program: () => Promise<T>,
): Promise<ProgramRun<Resolved<T>>> {
  const resources: RecordedResource[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const providers = new Map<string, { name: string; inputs: Record<string, any> }>();
  await pulumi.runtime.setMocks(
    {
      newResource(args: MockResourceArgs) {
        // A provider reference is `<urn>::<id>`; our providers' ids are `provider:<name>`.
        const providerId = args.provider?.split('::').at(-1);
        const provider = providerId ? providers.get(providerId) : undefined;
        const recorded: RecordedResource = {
          type: args.type,
          name: args.name,
          custom: args.custom ?? true,
          inputs: args.inputs,
          ...(provider ? { providerName: provider.name } : {}),
        };
        resources.push(recorded);
        if (args.type.startsWith('pulumi:providers:')) {
          const id = `provider:${args.name}`;
          providers.set(id, { name: args.name, inputs: args.inputs });
          return { id, state: args.inputs };
        }
        const state = cloud.state({ ...recorded, providerInputs: provider?.inputs });
        return { id: String(state.id ?? `${args.name}-id`), state: { ...args.inputs, ...state } };
      },
      call: (args: MockCallArgs) => cloud.call(args),
    },
    'landlord-silo',
    stack,
    false,
  );
  try {
    const outputs = await resolveOutputs(await program());
    return { resources, outputs };
  } finally {
    // Registrations of resources no output depends on may still be in flight.
    await pulumi.runtime.disconnect();
  }
}

/** The one resource of a type whose logical name ends with the suffix. */
export function resourceNamed(
  resources: RecordedResource[],
  type: string,
  nameSuffix: string,
): RecordedResource {
  const found = resources.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
  if (found.length !== 1) {
    throw new Error(`expected one ${type} named *${nameSuffix}, found ${found.length}`);
  }
  return found[0]!;
}

export function resourcesOfType(resources: RecordedResource[], type: string): RecordedResource[] {
  return resources.filter((r) => r.type === type);
}
