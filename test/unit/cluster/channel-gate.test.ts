import { describe, expect, it } from 'vitest';
import { ChannelGate } from '../../../src/cluster/channel-gate.js';

describe('ChannelGate', () => {
  it('grants at most max slots and hands each released one to the next waiter, in order', () => {
    const gate = new ChannelGate(2);
    const granted: string[] = [];
    for (const name of ['a', 'b', 'c', 'd'])
      gate.enter(
        () => granted.push(name),
        () => {},
      );
    expect(granted).toEqual(['a', 'b']);
    expect([gate.active, gate.waiting]).toEqual([2, 2]);
    // A slot that frees goes straight to the head of the line: nobody can take it in between.
    gate.release();
    expect(gate.tryAcquire()).toBe(false);
    expect(granted).toEqual(['a', 'b', 'c']);
    gate.release();
    gate.release();
    expect(granted).toEqual(['a', 'b', 'c', 'd']);
    expect([gate.active, gate.waiting]).toEqual([1, 0]);
    gate.release();
    expect(gate.active).toBe(0);
  });

  it('tryAcquire never waits in line, and leaving the line means never being granted', () => {
    const gate = new ChannelGate(1);
    expect(gate.tryAcquire()).toBe(true);
    expect(gate.tryAcquire()).toBe(false);
    expect(gate.waiting).toBe(0);
    const granted: string[] = [];
    const leaveA = gate.enter(
      () => granted.push('a'),
      () => {},
    );
    gate.enter(
      () => granted.push('b'),
      () => {},
    );
    expect(leaveA()).toBe(true);
    expect(leaveA()).toBe(false);
    gate.release();
    expect(granted).toEqual(['b']);
    // Granted at once: there was no line to leave.
    gate.release();
    const leaveC = gate.enter(
      () => granted.push('c'),
      () => {},
    );
    expect(granted).toEqual(['b', 'c']);
    expect(leaveC()).toBe(false);
  });

  it('refuses every waiter with the error given, keeping the slots held', async () => {
    const gate = new ChannelGate(1);
    await gate.acquire();
    const waiting = [gate.acquire(), gate.acquire()];
    gate.refuseWaiting(new Error('shutting down'));
    for (const w of waiting) await expect(w).rejects.toThrow('shutting down');
    expect([gate.active, gate.waiting]).toEqual([1, 0]);
  });

  it('refuses a cap that is not a whole number of at least one', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new ChannelGate(bad)).toThrow(/whole number/);
  });
});
