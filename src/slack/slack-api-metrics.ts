import type { WebClient } from '@slack/web-api';
import type { Metrics } from '../metrics.js';

// Counts a WebClient's Web API calls by method and by Slack's error code (docs/domain.md#operating-the-bot).
// The client binds every method (chat.postMessage …) to its apiCall when it is built, so replacing apiCall
// afterwards would see nothing; every call does go through the client's one HTTP step, makeRequest(url, …),
// looked up at call time. Counting there sees each logical call once (its retries happen inside).

interface RequestStep {
  makeRequest(
    url: string,
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** Count `client`'s calls into `metrics` (in place; returns the client). Without metrics, nothing changes. */
export function withSlackApiMetrics<C extends WebClient>(
  client: C,
  metrics: Pick<Metrics, 'slackApiCalls'> | undefined,
): C {
  // The HTTP step is not in the client's public type; this is the one place that relies on it.
  const step = client as unknown as RequestStep;
  if (!metrics || typeof step.makeRequest !== 'function') return client;
  const request = step.makeRequest.bind(client);
  step.makeRequest = async (url, body, headers) => {
    const method = url.replace(/\/+$/, '').split('/').pop() ?? 'unknown';
    let res: Response;
    try {
      res = await request(url, body, headers);
    } catch (e) {
      metrics.slackApiCalls.inc({ method, error: transportErrorCode(e) });
      throw e;
    }
    metrics.slackApiCalls.inc({ method, error: await platformError(res) });
    return res;
  };
  return client;
}

/** Slack answers HTTP 200 with `{ ok: false, error }` for its own errors. */
async function platformError(res: Response): Promise<string> {
  try {
    const body = (await res.clone().json()) as { ok?: unknown; error?: unknown };
    if (body.ok === false) return typeof body.error === 'string' ? body.error : 'unknown';
  } catch {
    // Not JSON (a gzip export): nothing to count but the call.
  }
  return '';
}

/** A rate limit (HTTP 429) or a request that never got an answer. */
function transportErrorCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  return typeof code === 'string' ? code : 'unknown';
}
