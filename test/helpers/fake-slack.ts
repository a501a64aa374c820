import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeSlackSocket, type FakeSocketOptions, type SocketAck } from './fake-slack-socket.js';

export type { SocketAck } from './fake-slack-socket.js';

// Stands in for slack.com on 127.0.0.1: the Web API (recording every call, answering like Slack, 429 with
// Retry-After on demand), response_url endpoints, the files.uploadV2 upload URLs; its Socket Mode side is
// `socket` (fake-slack-socket.ts), on the same server.
//
// The Web API is strict, like a real workspace (docs/domain.md#slack-limits): a channel exists only once a
// test creates it (`channel()`); the bot posts only where it is a member (a public channel after
// conversations.join); archived channels refuse; every per-block limit and the ~12,000-character total are
// enforced; chat.update needs a message that exists and is Tier 3 (429 beyond 50 a minute); a response_url
// takes 5 posts; files.uploadV2's three steps must happen in order.

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

export type ChannelKind = 'public' | 'private' | 'im' | 'mpim';

export interface FakeChannel {
  readonly id: string;
  readonly kind: ChannelKind;
  member: boolean;
  archived: boolean;
}

export interface FakeMessage {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs?: string;
  text: string;
  blocks: unknown[];
  edits: number;
}

export interface FakeFile {
  readonly id: string;
  readonly filename: string;
  readonly title: string;
  readonly channel: string;
  readonly threadTs?: string;
  readonly data: Buffer;
}

/** A call Slack refused: what was asked, and Slack's error. */
export interface Refusal {
  readonly method: string;
  readonly error: string;
  readonly channel?: string;
}

/** Slack's numbers (docs/domain.md#block-kit-limits), enforced here independently of the bot's renderer. */
const SLACK = {
  blocks: 50,
  section: 3000,
  fields: 10,
  field: 2000,
  header: 150,
  contextElements: 10,
  contextText: 2000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  totalText: 12_000,
  text: 40_000,
  updatesPerMinute: 50,
  responseUrlUses: 5,
} as const;

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  readonly uploads: { id: string; bytes: number; data: Buffer }[] = [];
  /** Files completed into a channel (files.completeUploadExternal), with their bytes. */
  readonly files: FakeFile[] = [];
  readonly refusals: Refusal[] = [];
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, FakeMessage>();
  readonly #pendingUploads = new Map<string, { filename: string; length: number; data?: Buffer }>();
  readonly #responseUses = new Map<string, number>();
  readonly #updateTimes: number[] = [];
  readonly #forced: { method: string; error: string; times: number }[] = [];
  /** chat.update's tier: calls per window (Tier 3, "50+ per minute"); tests may tighten it. */
  #updateTier = { max: SLACK.updatesPerMinute as number, windowMs: 60_000 };
  readonly #rateLimits: { method: string; channel?: string; times: number; retryAfter: number }[] = [];
  readonly #outages: { until: number; status: number; methods: readonly string[] }[] = [];
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

  /**
   * A Slack outage: for `ms` from now every Web API call (of `methods`, when given) is answered with HTTP
   * `status` (503 by default) and an HTML page, as Slack's edge does, and does nothing.
   */
  outage(ms: number, opts: { status?: number; methods?: readonly string[] } = {}): void {
    this.#outages.push({ until: Date.now() + ms, status: opts.status ?? 503, methods: opts.methods ?? [] });
  }

  /** Web API calls answered by an outage, per method (each one did nothing). */
  readonly outageAnswers = new Map<string, number>();

  /** The next `times` calls of `method` fail with Slack's `error` (a refusal the test cannot provoke). */
  refuseNext(method: string, error: string, times = 1): void {
    this.#forced.push({ method, error, times });
  }

  /** Tighten chat.update's rate limit so a test can cross it in seconds. */
  updateTier(max: number, windowMs: number): void {
    this.#updateTier = { max, windowMs };
  }

  /** A conversation of the workspace. The bot is a member only when `member` (default: not). */
  channel(id: string, opts: { kind?: ChannelKind; member?: boolean; archived?: boolean } = {}): FakeChannel {
    const c: FakeChannel = {
      id,
      kind: opts.kind ?? 'public',
      member: opts.member ?? false,
      archived: opts.archived ?? false,
    };
    this.channels.set(id, c);
    return c;
  }

  /** Messages in `channel` (roots and replies), oldest first. */
  messagesIn(channel: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel);
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
      const id = url.pathname.slice('/response/'.length);
      const uses = (this.#responseUses.get(id) ?? 0) + 1;
      this.#responseUses.set(id, uses);
      if (uses > SLACK.responseUrlUses) {
        this.refusals.push({ method: 'response_url', error: 'used_url' });
        return json(404, { ok: false, error: 'used_url' });
      }
      const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      const bad = Array.isArray(body.blocks) ? blocksError(body.blocks) : null;
      if (bad) {
        this.refusals.push({ method: 'response_url', error: bad });
        return json(400, { ok: false, error: bad });
      }
      this.responses.push({ id, body, at: Date.now() });
      return json(200, { ok: true });
    }
    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      const pending = this.#pendingUploads.get(id);
      if (!pending) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'unknown upload' };
      const data = uploadedFile(req.headers['content-type'] ?? '', raw);
      pending.data = data;
      this.uploads.push({ id, bytes: data.length, data });
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: `OK - ${data.length}` };
    }
    if (!url.pathname.startsWith('/api/')) return json(404, { ok: false, error: 'unknown_path' });
    const method = url.pathname.slice('/api/'.length);
    const params = parseParams(req.headers['content-type'] ?? '', raw);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (params.token as string | undefined);
    this.calls.push({ method, params, ...(token ? { token } : {}), at: Date.now() });

    const down = this.#outages.find(
      (o) => o.until > Date.now() && (o.methods.length === 0 || o.methods.includes(method)),
    );
    if (down) {
      this.outageAnswers.set(method, (this.outageAnswers.get(method) ?? 0) + 1);
      return {
        status: down.status,
        headers: { 'content-type': 'text/html' },
        body: '<html><body><h1>Slack is having trouble</h1></body></html>',
      };
    }
    const limit = this.#rateLimits.find(
      (l) => l.method === method && l.times > 0 && (!l.channel || l.channel === params.channel),
    );
    if (limit) {
      limit.times--;
      return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
    }
    if (!token) return json(200, { ok: false, error: 'not_authed' });
    const forced = this.#forced.find((f) => f.method === method && f.times > 0);
    if (forced) {
      forced.times--;
      return this.#refuse(
        json,
        method,
        forced.error,
        typeof params.channel === 'string' ? params.channel : undefined,
      );
    }
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
      case 'conversations.join': {
        const c = this.channels.get(String(params.channel));
        if (!c || (c.kind !== 'public' && !c.member)) return this.#refuse(json, method, 'channel_not_found');
        if (c.archived) return this.#refuse(json, method, 'is_archived', c.id);
        if (c.kind !== 'public')
          return this.#refuse(json, method, 'method_not_supported_for_channel_type', c.id);
        const warn = c.member ? { warning: 'already_in_channel' } : {};
        c.member = true;
        return json(200, { ok: true, channel: { id: c.id, is_member: true, is_private: false }, ...warn });
      }
      case 'conversations.open': {
        const user = String(params.users ?? '');
        if (!/^[UW][A-Z0-9]{2,}$/.test(user)) return this.#refuse(json, method, 'user_not_found');
        const id = `D${user.slice(1)}`;
        if (!this.channels.has(id)) this.channel(id, { kind: 'im', member: true });
        return json(200, { ok: true, channel: { id } });
      }
      case 'chat.postMessage': {
        const channel = String(params.channel ?? '');
        const refused = this.#cannotPost(channel);
        if (refused) return this.#refuse(json, method, refused, channel);
        const bad = messageError(params);
        if (bad) return this.#refuse(json, method, bad, channel);
        const ts = `${this.#ts++}.000100`;
        const threadTs = typeof params.thread_ts === 'string' ? params.thread_ts : undefined;
        this.messages.set(`${channel}|${ts}`, {
          channel,
          ts,
          ...(threadTs ? { threadTs } : {}),
          text: String(params.text ?? ''),
          blocks: (params.blocks as unknown[] | undefined) ?? [],
          edits: 0,
        });
        return json(200, { ok: true, channel, ts, message: { text: params.text, ts } });
      }
      case 'chat.update': {
        const now = Date.now();
        const { max, windowMs } = this.#updateTier;
        while (this.#updateTimes.length > 0 && (this.#updateTimes[0] as number) <= now - windowMs)
          this.#updateTimes.shift();
        if (this.#updateTimes.length >= max) {
          const after = Math.max(1, Math.ceil(((this.#updateTimes[0] as number) + windowMs - now) / 1000));
          this.refusals.push({ method, error: 'ratelimited' });
          return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(after) });
        }
        this.#updateTimes.push(now);
        const channel = String(params.channel ?? '');
        const refused = this.#cannotPost(channel);
        if (refused) return this.#refuse(json, method, refused, channel);
        const m = this.messages.get(`${channel}|${String(params.ts)}`);
        if (!m) return this.#refuse(json, method, 'message_not_found', channel);
        const bad = messageError(params);
        if (bad) return this.#refuse(json, method, bad, channel);
        m.text = String(params.text ?? '');
        m.blocks = (params.blocks as unknown[] | undefined) ?? [];
        m.edits++;
        return json(200, { ok: true, channel, ts: m.ts });
      }
      case 'files.getUploadURLExternal': {
        const filename = String(params.filename ?? '');
        const length = Number(params.length);
        if (!filename || !Number.isInteger(length) || length < 1)
          return this.#refuse(json, method, 'invalid_arguments');
        const id = `F${randomUUID().slice(0, 8).toUpperCase()}`;
        this.#pendingUploads.set(id, { filename, length });
        return json(200, { ok: true, file_id: id, upload_url: `http://127.0.0.1:${this.port}/upload/${id}` });
      }
      case 'files.completeUploadExternal': {
        const list = JSON.parse(String(params.files ?? '[]')) as { id: string; title?: string }[];
        const channel = typeof params.channel_id === 'string' ? params.channel_id : undefined;
        if (channel) {
          const refused = this.#cannotPost(channel);
          if (refused) return this.#refuse(json, method, refused, channel);
        }
        const threadTs = typeof params.thread_ts === 'string' ? params.thread_ts : undefined;
        if (channel && threadTs && !this.messages.has(`${channel}|${threadTs}`))
          return this.#refuse(json, method, 'invalid_thread_ts', channel);
        for (const f of list) {
          const p = this.#pendingUploads.get(f.id);
          if (!p?.data) return this.#refuse(json, method, 'file_upload_not_found', channel);
        }
        for (const f of list) {
          const p = this.#pendingUploads.get(f.id);
          this.#pendingUploads.delete(f.id);
          if (channel && p?.data)
            this.files.push({
              id: f.id,
              filename: p.filename,
              title: f.title ?? p.filename,
              channel,
              ...(threadTs ? { threadTs } : {}),
              data: p.data,
            });
        }
        return json(200, { ok: true, files: list.map((f) => ({ id: f.id, title: f.title ?? '' })) });
      }
      default:
        return json(200, { ok: true });
    }
  }

  /** Why the bot may not post in `channel`, or null. */
  #cannotPost(channel: string): string | null {
    const c = this.channels.get(channel);
    if (!c) return 'channel_not_found';
    if (c.archived) return 'is_archived';
    if (c.member) return null;
    return c.kind === 'public' ? 'not_in_channel' : 'channel_not_found';
  }

  #refuse(
    json: (
      status: number,
      body: unknown,
    ) => { status: number; headers: Record<string, string>; body: string },
    method: string,
    error: string,
    channel?: string,
  ) {
    this.refusals.push({ method, error, ...(channel ? { channel } : {}) });
    return json(200, { ok: false, error });
  }
}

/** Slack's answer to a message's text and blocks: null when it takes them. */
function messageError(params: Record<string, unknown>): string | null {
  const text = typeof params.text === 'string' ? params.text : '';
  const blocks = params.blocks;
  if (text.length > SLACK.text) return 'msg_too_long';
  if (blocks === undefined || (Array.isArray(blocks) && blocks.length === 0)) return text ? null : 'no_text';
  if (!Array.isArray(blocks)) return 'invalid_blocks_format';
  return blocksError(blocks);
}

type Obj = Record<string, unknown>;
const str = (o: unknown, k: string) => (o && typeof o === 'object' ? (o as Obj)[k] : undefined);
const textOf = (o: unknown): string => {
  const t = str(o, 'text');
  return typeof t === 'string' ? t : '';
};
const tooLong = (o: unknown, max: number) => textOf(o).length > max || textOf(o).length === 0;

/** Every per-block limit, then the total text of all blocks (text objects' `text`, summed). */
function blocksError(blocks: unknown[]): string | null {
  if (blocks.length > SLACK.blocks) return 'invalid_blocks';
  const actionIds = new Set<string>();
  let total = 0;
  for (const b of blocks) {
    const type = str(b, 'type');
    if (type === 'header') {
      if (str(str(b, 'text'), 'type') !== 'plain_text' || tooLong(str(b, 'text'), SLACK.header))
        return 'invalid_blocks';
      total += textOf(str(b, 'text')).length;
    } else if (type === 'section') {
      const text = str(b, 'text');
      const fields = str(b, 'fields');
      if (text === undefined && fields === undefined) return 'invalid_blocks';
      if (text !== undefined) {
        if (tooLong(text, SLACK.section)) return 'invalid_blocks';
        total += textOf(text).length;
      }
      if (fields !== undefined) {
        if (!Array.isArray(fields) || fields.length > SLACK.fields) return 'invalid_blocks';
        for (const f of fields) {
          if (tooLong(f, SLACK.field)) return 'invalid_blocks';
          total += textOf(f).length;
        }
      }
    } else if (type === 'context') {
      const els = str(b, 'elements');
      if (!Array.isArray(els) || els.length === 0 || els.length > SLACK.contextElements)
        return 'invalid_blocks';
      for (const e of els) {
        if (tooLong(e, SLACK.contextText)) return 'invalid_blocks';
        total += textOf(e).length;
      }
    } else if (type === 'actions') {
      const els = str(b, 'elements');
      if (!Array.isArray(els) || els.length === 0 || els.length > SLACK.actionsElements)
        return 'invalid_blocks';
      for (const e of els) {
        const id = str(e, 'action_id');
        if (typeof id !== 'string' || id.length > SLACK.actionId || actionIds.has(id))
          return 'invalid_blocks';
        actionIds.add(id);
        const value = str(e, 'value');
        if (typeof value === 'string' && value.length > SLACK.buttonValue) return 'invalid_blocks';
        if (tooLong(str(e, 'text'), SLACK.buttonText)) return 'invalid_blocks';
        total += textOf(str(e, 'text')).length;
        const confirm = str(e, 'confirm');
        if (confirm !== undefined) {
          if (tooLong(str(confirm, 'title'), SLACK.confirmTitle)) return 'invalid_blocks';
          if (tooLong(str(confirm, 'text'), SLACK.confirmText)) return 'invalid_blocks';
          if (tooLong(str(confirm, 'confirm'), SLACK.confirmButton)) return 'invalid_blocks';
          if (tooLong(str(confirm, 'deny'), SLACK.confirmButton)) return 'invalid_blocks';
        }
      }
    } else if (type !== 'divider' && type !== 'image') {
      return 'invalid_blocks';
    }
  }
  return total > SLACK.totalText ? 'msg_blocks_too_long' : null;
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

/** A button click's request body as Slack sends it (form-encoded `payload` of a `block_actions`). */
export function buttonClickBody(fields: {
  user_id: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  message_ts: string;
  message_text?: string;
  action_id: string;
  value: string | undefined;
  response_url: string;
}): string {
  const channel = fields.channel_id ?? 'C0CHATOPS';
  const payload = {
    type: 'block_actions',
    user: { id: fields.user_id, name: fields.user_name ?? 'someone' },
    team: { id: 'T0FAKE' },
    api_app_id: 'A0FAKEAPP',
    token: 'x',
    trigger_id: '1.fake',
    channel: { id: channel, name: fields.channel_name ?? 'chatops' },
    container: { type: 'message', message_ts: fields.message_ts, channel_id: channel },
    message: { ts: fields.message_ts, text: fields.message_text ?? 'x' },
    response_url: fields.response_url,
    actions: [
      { type: 'button', action_id: fields.action_id, block_id: 'b1', value: fields.value, action_ts: '1.2' },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
