import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for the Hugging Face Hub on 127.0.0.1, speaking the parts of its HTTP API the checkpoint
// pipeline uses: create a repo (409 when it exists), create a branch, and commit. Commits are limited in
// fixed windows that start when the Hub starts (NOT aligned to the epoch, so a client cannot cheat by
// aligning its own windows); beyond the limit it answers 429 with the Hub's headers:
//   RateLimit: "api";r=<remaining>;t=<seconds to reset>   RateLimit-Policy: "fixed window";"api";q=<limit>;w=<window s>
//   Retry-After: <seconds>
// Rejected commits do not use up the window.

export interface LocalHubOptions {
  /** Accepted commits per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Branch/commit requests for `<org>/<repo>@<revision>` matching this never get an answer (socket timeout). */
  readonly stall?: RegExp;
  /** Organisations the token may not create repos in: 403, as the Hub answers. */
  readonly forbiddenOrgs?: RegExp;
  /**
   * Where windows start: at the Hub's start, one after another (default), or at the first commit after the
   * last window ended — so a burst of commits always meets the limit, whenever it starts (the demo).
   */
  readonly windowAnchor?: 'start' | 'first-commit';
}

export interface HubCall {
  readonly at: number;
  readonly kind: 'create' | 'branch' | 'commit';
  readonly repo: string;
  readonly revision?: string;
  readonly status: number;
}

export interface LocalHub {
  readonly url: string;
  readonly calls: readonly HubCall[];
  /** Accepted commits and 429 answers so far. */
  stats(): { commits: number; rejected: number; maxCommitsInAnyWindow: number };
  /** The windows' start time (epoch ms) and length, for assertions. */
  readonly startedAt: number;
  close(): Promise<void>;
}

export async function startLocalHub(opts: LocalHubOptions): Promise<LocalHub> {
  const startedAt = Date.now();
  const calls: HubCall[] = [];
  const repos = new Set<string>();
  const used = new Map<number, number>();
  const stalled = new Set<ServerResponse>();

  // With windows anchored at a first commit, the current window starts there; windows are numbered by it.
  let anchor = startedAt;
  const anchored = opts.windowAnchor === 'first-commit';
  const windowIndex = (t: number) =>
    anchored ? (t - anchor < opts.windowMs ? anchor : -1) : Math.floor((t - startedAt) / opts.windowMs);
  const secondsToReset = (t: number) => {
    const end = anchored ? anchor + opts.windowMs : startedAt + (windowIndex(t) + 1) * opts.windowMs;
    return Math.max(1, Math.ceil((end - t) / 1000));
  };
  const policy = `"fixed window";"api";q=${opts.limit};w=${Math.ceil(opts.windowMs / 1000)}`;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const now = Date.now();
    const remaining = Math.max(0, opts.limit - (used.get(windowIndex(now)) ?? 0));
    res.writeHead(status, {
      'content-type': 'application/json',
      RateLimit: `"api";r=${remaining};t=${secondsToReset(now)}`,
      'RateLimit-Policy': policy,
      ...headers,
    });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const now = Date.now();
    const branch = /^\/api\/models\/([^/]+\/[^/]+)\/branch\/(.+)$/.exec(url.pathname);
    const commit = /^\/api\/models\/([^/]+\/[^/]+)\/commit\/(.+)$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/api/repos/create') {
      const parsed = safeJson(body) as { name?: unknown; organization?: unknown } | null;
      const org = String(parsed?.organization ?? '');
      const repo = `${org}/${String(parsed?.name ?? '')}`;
      if (opts.forbiddenOrgs?.test(org)) {
        calls.push({ at: now, kind: 'create', repo, status: 403 });
        return send(res, 403, { error: "You don't have the rights to create a model under this namespace" });
      }
      const exists = repos.has(repo);
      repos.add(repo);
      calls.push({ at: now, kind: 'create', repo, status: exists ? 409 : 200 });
      if (exists) return send(res, 409, { error: 'You already created this model repo', url: repo });
      return send(res, 200, { url: `${fakeUrl(req)}/${repo}` });
    }
    if (req.method === 'POST' && branch) {
      const [, repo = '', rev = ''] = branch;
      const revision = decodeURIComponent(rev);
      if (stall(`${repo}@${revision}`, res)) return;
      calls.push({ at: now, kind: 'branch', repo, revision, status: 200 });
      return send(res, 200, {});
    }
    if (req.method === 'POST' && commit) {
      const [, repo = '', rev = ''] = commit;
      const revision = decodeURIComponent(rev);
      if (stall(`${repo}@${revision}`, res)) return;
      if (anchored && windowIndex(now) === -1) anchor = now;
      const w = windowIndex(now);
      const n = used.get(w) ?? 0;
      if (n >= opts.limit) {
        calls.push({ at: now, kind: 'commit', repo, revision, status: 429 });
        const reset = secondsToReset(now);
        return send(
          res,
          429,
          { error: 'You have exceeded the rate limit for repository commits. Retry later.' },
          { 'Retry-After': String(reset) },
        );
      }
      used.set(w, n + 1);
      calls.push({ at: now, kind: 'commit', repo, revision, status: 200 });
      return send(res, 200, {
        commitOid: (now.toString(16) + repo.length.toString(16)).padEnd(40, '0').slice(0, 40),
        commitUrl: `${fakeUrl(req)}/${repo}/commit/${revision}`,
      });
    }
    return send(res, 404, { error: 'Not Found' });
  };

  const stall = (target: string, res: ServerResponse): boolean => {
    if (!opts.stall?.test(target)) return false;
    stalled.add(res);
    return true;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(e) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    startedAt,
    stats() {
      const commits = calls.filter((c) => c.kind === 'commit' && c.status === 200).length;
      const rejected = calls.filter((c) => c.status === 429).length;
      return { commits, rejected, maxCommitsInAnyWindow: Math.max(0, ...used.values()) };
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function fakeUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // A fake upload carries a few bytes; anything large is a bug in the pipeline fake.
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
