/*
 * Logging and metrics as the domain code sees them: the narrow parts of the Powertools logger and
 * of `metricsRecorder` (shared/powertools.ts) it calls, so tests can give fakes.
 */

/** Structured log lines. Never give it tokens or message text. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Counts and timings. */
export interface MetricsRecorder {
  count(name: string, value?: number, dimensions?: Record<string, string>): void;
  milliseconds(name: string, value: number): void;
}
