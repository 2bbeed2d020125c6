/** Runs each named check with a deadline; a check that throws or misses its deadline is 'failed'. */
export async function checkReadiness(
  checks: Record<string, () => Promise<void>>,
  { timeoutMs = 2000 }: { timeoutMs?: number } = {},
): Promise<Record<string, 'ok' | 'failed'>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([check(), deadline]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'failed'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
