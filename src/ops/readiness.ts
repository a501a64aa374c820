// Readiness: whether this process can do its work right now (Redis, the cluster, Slack). Each dependency is
// one check passed in by the wiring, so the ops server knows none of them (docs/domain.md#operating-the-bot).

export interface CheckResult {
  readonly ok: boolean;
  /** Why, in words an operator can act on: "PONG", "connect ECONNREFUSED 127.0.0.1:6379". */
  readonly reason: string;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<CheckResult>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly ({ readonly name: string } & CheckResult)[];
}

/** Every check at once, each bounded by `timeoutMs`: a check that hangs is a failing one. */
export async function runReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = 2_000,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      const r = await Promise.race([
        c.check().catch((e: unknown) => ({ ok: false, reason: e instanceof Error ? e.message : String(e) })),
        timeout,
      ]);
      clearTimeout(timer);
      return { name: c.name, ok: r.ok, reason: r.reason };
    }),
  );
  return { ready: results.every((r) => r.ok), checks: results };
}
