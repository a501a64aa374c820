import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeSlackSocket, type FakeSocketOptions, type SocketAck } from './fake-slack-socket.js';

export type { SocketAck } from './fake-slack-socket.js';

// Stands in for slack.com on 127.0.0.1: the Web API (recording every call, answering like Slack, 429 with
// Retry-After on demand), response_url endpoints, the files.uploadV2 upload URLs; its Socket Mode side is
// `socket` (fake-slack-socket.ts), on the same server.

export interface ApiCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly token?: string;
  readonly at: number;
}

export interface ResponseUrlPost {
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly at: number;
}

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  readonly uploads: { id: string; bytes: number; data: Buffer }[] = [];
  readonly #rateLimits: { method: string; channel?: string; times: number; retryAfter: number }[] = [];
  #ts = 1_700_000_000;
  #server!: Server;
  /** Socket Mode: connections, envelopes, acks, refreshes and apps.connections.open failures. */
  socket!: FakeSlackSocket;
  port = 0;

  static async start(opts: { readonly socket?: FakeSocketOptions } = {}): Promise<FakeSlack> {
    const f = new FakeSlack();
    await f.#listen(opts.socket);
    return f;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }
  /** A fresh single-use Socket Mode URL (a second connect to it is refused). */
  get socketUrl(): string {
    return this.socket.mintUrl();
  }
  responseUrl(id: string = randomUUID()): string {
    return `http://127.0.0.1:${this.port}/response/${id}`;
  }

  /** The next `times` calls of `method` (for `channel`, if given) get 429 with Retry-After. */
  rateLimit(method: string, opts: { times?: number; retryAfter?: number; channel?: string } = {}): void {
    this.#rateLimits.push({
      method,
      times: opts.times ?? 1,
      retryAfter: opts.retryAfter ?? 1,
      ...(opts.channel ? { channel: opts.channel } : {}),
    });
  }

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`fake Slack: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Socket Mode clients connected right now. */
  get connections(): number {
    return this.socket.connections;
  }

  /** Socket Mode: wait until a client has connected (and got its hello). */
  async connected(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => this.socket.connections > 0, timeoutMs, 'a Socket Mode connection');
  }

  /** Socket Mode: deliver a slash command envelope; resolves with the client's ack. */
  sendSlashCommand(payload: Record<string, string>): Promise<SocketAck> {
    return this.socket.sendSlashCommand(payload);
  }

  async stop(): Promise<void> {
    await this.socket.close();
    await new Promise<void>((r) => {
      this.#server.close(() => r());
      this.#server.closeAllConnections();
    });
  }

  async #listen(socketOptions?: FakeSocketOptions): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        ({ status, headers, body }) => res.writeHead(status, headers).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    this.socket = new FakeSlackSocket(this.#server, () => this.port, socketOptions);
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async #handle(
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    if (url.pathname.startsWith('/response/')) {
      const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      this.responses.push({ id: url.pathname.slice('/response/'.length), body, at: Date.now() });
      return json(200, { ok: true });
    }
    if (url.pathname.startsWith('/upload/')) {
      const data = uploadedFile(req.headers['content-type'] ?? '', raw);
      this.uploads.push({ id: url.pathname.slice('/upload/'.length), bytes: data.length, data });
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: `OK - ${data.length}` };
    }
    if (!url.pathname.startsWith('/api/')) return json(404, { ok: false, error: 'unknown_path' });
    const method = url.pathname.slice('/api/'.length);
    const params = parseParams(req.headers['content-type'] ?? '', raw);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (params.token as string | undefined);
    this.calls.push({ method, params, ...(token ? { token } : {}), at: Date.now() });

    const limit = this.#rateLimits.find(
      (l) => l.method === method && l.times > 0 && (!l.channel || l.channel === params.channel),
    );
    if (limit) {
      limit.times--;
      return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
    }
    if (!token) return json(200, { ok: false, error: 'not_authed' });
    switch (method) {
      case 'auth.test':
        return json(200, {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'chatops',
          team_id: 'T0FAKE',
          user_id: 'U0BOT',
          bot_id: 'B0BOT',
        });
      case 'apps.connections.open': {
        const { status, body } = this.socket.answerOpen(req);
        return json(status, body);
      }
      case 'chat.postMessage': {
        const ts = `${this.#ts++}.000100`;
        return json(200, { ok: true, channel: params.channel, ts, message: { text: params.text, ts } });
      }
      case 'chat.update':
        return json(200, { ok: true, channel: params.channel, ts: params.ts });
      case 'files.getUploadURLExternal': {
        const id = `F${randomUUID().slice(0, 8).toUpperCase()}`;
        return json(200, { ok: true, file_id: id, upload_url: `http://127.0.0.1:${this.port}/upload/${id}` });
      }
      case 'files.completeUploadExternal': {
        const files = JSON.parse(String(params.files ?? '[]')) as { id: string; title?: string }[];
        return json(200, { ok: true, files: files.map((f) => ({ id: f.id, title: f.title ?? '' })) });
      }
      default:
        return json(200, { ok: true });
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The file's bytes from an upload URL POST: raw, or the file part of a multipart form. */
function uploadedFile(contentType: string, raw: Buffer): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!contentType.startsWith('multipart/form-data') || !boundary) return raw;
  const sep = Buffer.from(`--${boundary}`);
  let at = raw.indexOf(sep);
  while (at !== -1) {
    const next = raw.indexOf(sep, at + sep.length);
    if (next === -1) break;
    const part = raw.subarray(at + sep.length, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1 && part.subarray(0, headerEnd).toString('utf8').includes('filename=')) {
      return part.subarray(headerEnd + 4, part.length - 2);
    }
    at = next;
  }
  return raw;
}

function parseParams(contentType: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType.includes('application/json')) return JSON.parse(text || '{}') as Record<string, unknown>;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      // The Web API client JSON-encodes nested values (blocks, attachments) inside the form.
      out[k] = (k === 'blocks' || k === 'attachments') && v.startsWith('[') ? JSON.parse(v) : v;
    }
    return out;
  }
  return {};
}

/** Headers Slack would send with `body`, signed with `secret` at `timestamp` (seconds). */
export function signedHeaders(
  secret: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': sig,
  };
}

/** A slash command request body as Slack sends it (form-encoded). */
export function slashCommandBody(fields: {
  command: string;
  text: string;
  user_id: string;
  channel_id?: string;
  response_url: string;
  user_name?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FAKE',
    team_domain: 'fake',
    channel_id: fields.channel_id ?? 'C0CHATOPS',
    channel_name: 'chatops',
    user_id: fields.user_id,
    user_name: fields.user_name ?? 'someone',
    command: fields.command,
    text: fields.text,
    api_app_id: 'A0FAKEAPP',
    response_url: fields.response_url,
    trigger_id: `${Date.now()}.fake`,
  }).toString();
}
