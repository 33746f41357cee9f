/**
 * Names of test suites that need `../shared/data`: the reason for skipping appears in the name only
 * when the suite is skipped (a name saying "skipped" on a suite that ran would mislead a reader).
 */
export function needsData(name: string, present: boolean, missing: string): string {
  return present ? name : `${name} (skipped: ${missing} not found)`;
}
