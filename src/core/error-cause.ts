/**
 * The message of a Catch's `Cause`: Lambda's is JSON `{errorType, errorMessage, trace}`, a nested
 * execution's JSON `{Error, Cause}`, a local run's the plain message.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; Error?: string; Cause?: string };
    if (parsed.errorMessage) return parsed.errorMessage;
    if (parsed.Error) return `${parsed.Error}: ${causeMessage(parsed.Cause)}`;
  } catch {
    // plain text
  }
  return cause;
}
