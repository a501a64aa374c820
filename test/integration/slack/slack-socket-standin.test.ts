import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { MAX_SOCKET_CONNECTIONS } from '../../helpers/fake-slack-socket.js';

// The Socket Mode stand-in enforces the protocol the bot's tests rely on; raw WebSocket clients check it.

interface Client {
  readonly ws: WebSocket;
  readonly messages: Record<string, unknown>[];
  readonly closed: Promise<number>;
}

function dial(url: string, opts: { autoPong?: boolean } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { autoPong: opts.autoPong ?? true });
    const messages: Record<string, unknown>[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d) => {
      messages.push(JSON.parse(String(d)) as Record<string, unknown>);
      if (messages.length === 1) resolve({ ws, messages, closed });
    });
    ws.on('error', reject);
  });
}

async function openUrl(fake: FakeSlack): Promise<Response> {
  return fetch(`${fake.apiUrl}apps.connections.open`, {
    method: 'POST',
    headers: { authorization: 'Bearer xapp-standin' },
  });
}

describe('the Socket Mode stand-in', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await FakeSlack.start({ socket: { pingIntervalMs: 200, ackTimeoutMs: 300, retryDelaysMs: [0] } });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('hands out single-use URLs that say hello, and refuses a second connect to one', async () => {
    const res = await openUrl(fake);
    const { ok, url } = (await res.json()) as { ok: boolean; url: string };
    expect(ok).toBe(true);
    const client = await dial(url);
    expect(client.messages[0]).toMatchObject({ type: 'hello', num_connections: 1 });
    await expect(dial(url)).rejects.toThrow(/401/);
    expect(fake.socket.refused.at(-1)?.reason).toBe('url already used');
    client.ws.close();
    await client.closed;
  });

  it('fails apps.connections.open on demand: 5xx, a network error, ok:false', async () => {
    fake.socket.failOpen({ kind: 'http', status: 503 });
    fake.socket.failOpen({ kind: 'network' });
    fake.socket.failOpen({ kind: 'error', error: 'internal_error' });
    expect((await openUrl(fake)).status).toBe(503);
    await expect(openUrl(fake)).rejects.toThrow();
    expect(await (await openUrl(fake)).json()).toEqual({ ok: false, error: 'internal_error' });
    expect((await openUrl(fake)).status).toBe(200);
  });

  it('drops a client that stops answering pings', async () => {
    const client = await dial(fake.socketUrl, { autoPong: false });
    const code = await client.closed;
    expect(code).toBe(1006);
    expect(fake.socket.dropped.length).toBeGreaterThan(0);
  });

  it(`refuses connection ${MAX_SOCKET_CONNECTIONS + 1} with too_many_websockets`, async () => {
    const clients: Client[] = [];
    for (let i = 0; i < MAX_SOCKET_CONNECTIONS; i++) clients.push(await dial(fake.socketUrl));
    expect(clients.at(-1)?.messages[0]).toMatchObject({
      type: 'hello',
      num_connections: MAX_SOCKET_CONNECTIONS,
    });
    const extra = await dial(fake.socketUrl);
    expect(extra.messages[0]).toEqual({ type: 'disconnect', reason: 'too_many_websockets' });
    await extra.closed;
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
  });

  it('records a missing ack, redelivers with retry_attempt, and records the late ack', async () => {
    const client = await dial(fake.socketUrl);
    const acked = fake.socket.send('events_api', { event_id: 'Ev1', event: { type: 'app_mention' } });
    await fake.waitFor(() => client.messages.filter((m) => m.envelope_id).length >= 2, 5_000, 'a redelivery');
    const [first, retry] = client.messages.filter((m) => m.envelope_id);
    expect(first?.retry_attempt).toBeUndefined();
    expect(retry).toMatchObject({
      envelope_id: first?.envelope_id,
      retry_attempt: 1,
      retry_reason: 'timeout',
    });
    expect(fake.socket.missingAcks[0]).toMatchObject({ envelopeId: first?.envelope_id, attempt: 0 });
    client.ws.send(JSON.stringify({ envelope_id: first?.envelope_id }));
    const ack = await acked;
    expect(fake.socket.lateAcks).toContainEqual(ack);
    client.ws.close();
    await client.closed;
  });

  it('refreshes with warning, then refresh_requested, then closes the socket', async () => {
    const client = await dial(fake.socketUrl);
    await fake.socket.refresh({ warning: true, closeAfterMs: 100 });
    await client.closed;
    expect(client.messages.slice(1).map((m) => m.reason)).toEqual(['warning', 'refresh_requested']);
    await expect(fake.socket.sendSlashCommand({ command: '/train', text: '' })).rejects.toThrow(/lost/);
    expect(fake.socket.undelivered).toHaveLength(1);
  });
});
