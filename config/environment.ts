/**
 * The one place outside the configuration proper that hands on this process's environment: the
 * stack runner's child process runs the Pulumi CLI, which needs PATH, HOME and the rest as they are.
 */
export function inheritedEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}
