import { type RemoteScript, scriptAuditArgv } from '../../src/cluster/remote-script.js';
import type { RunOptions, Transport } from '../../src/cluster/transport.js';

/** Passes everything to `inner` and remembers each command (a script as its name and operands). */
export class CountingTransport implements Transport {
  readonly kind: Transport['kind'];
  readonly calls: (readonly string[])[] = [];
  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
  }
  run(argv: readonly string[], opts?: RunOptions) {
    this.calls.push(argv);
    return this.inner.run(argv, opts);
  }
  runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions) {
    this.calls.push(scriptAuditArgv(script, operands));
    return this.inner.runScript(script, operands, opts);
  }
  close() {
    return this.inner.close();
  }
}
