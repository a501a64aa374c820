// The house rules `npm run lint` checks (dependency-cruiser): who may import whom. Rooms, bottom up:
//   shared contracts  src/{zod,node-fs,args,config,log-settings,errors,reply,messenger,logger,audit,metrics,cron,edit-distance}.ts
//   pure knowledge    src/neox, src/pipeline          (text in, facts out: no I/O rooms)
//   plumbing          src/cluster (the only room that runs anything on the cluster), src/queue (BullMQ)
//   features          src/training, src/uploads, src/digest   (services over the plumbing)
//   work and commands jobs/ (BullMQ processors, sweeps), commands/ (pure: parse, call services, Reply)
//   rendering         src/charts                      (Reply.chart → PNG for every surface: shared contracts only)
//   surfaces          src/slack, src/cli              (render a Reply, deliver messages)
//   ops               src/ops (the ops HTTP server, readiness, the Prometheus side of src/metrics.ts: shared
//                     contracts only; the only importer of prom-client)
//   wiring            src/app (imported only by src/main.ts, the composition root)
//   beside them       src/sandbox (a private cluster, Redis, sshd and Hub on loopback for the demo and the
//                     tests: it imports only the shared contracts; only the wiring starts it)
const SHARED =
  '^src/(zod|node-fs|args|config|log-settings|errors|reply|messenger|logger|audit|metrics|cron|edit-distance)[.]ts$';
const PURE = '^src/(neox|pipeline)/';
const FEATURES = '^src/(training|uploads|digest)/';
const SURFACES = '^src/(slack|cli)/';
const TRANSPORTS =
  '^src/cluster/(transport|create-transport|limited-transport|audited-transport)[.]ts$|^src/cluster/(local|ssh)/';
const PRODUCT = '^(src|commands|jobs)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circles: each room must be readable on its own, bottom up.',
      from: { path: PRODUCT },
      to: { circular: true },
    },
    {
      name: 'shared-contracts-import-nothing-above',
      severity: 'error',
      comment: 'The shared contracts sit at the bottom: they import only each other.',
      from: { path: SHARED },
      to: { path: '^(src|commands|jobs)/', pathNot: SHARED },
    },
    {
      name: 'pure-rooms-stay-pure',
      severity: 'error',
      comment:
        'src/neox and src/pipeline are text in, facts out: no cluster, queue, feature, job or command.',
      from: { path: PURE },
      to: { path: '^(src|commands|jobs)/', pathNot: [SHARED, PURE] },
    },
    {
      name: 'plumbing-imports-no-feature',
      severity: 'error',
      comment: 'src/cluster and src/queue serve the features; they never import them (or anything above).',
      from: { path: '^src/(cluster|queue)/' },
      to: { path: '^(src|commands|jobs)/', pathNot: [SHARED, PURE, '^src/cluster/', '^src/queue/'] },
    },
    {
      name: 'cluster-and-queue-stay-apart',
      severity: 'error',
      comment: 'Running things on the cluster and queueing work are separate plumbing.',
      from: { path: '^src/cluster/' },
      to: { path: '^src/queue/' },
    },
    {
      name: 'features-import-no-work-command-surface-or-wiring',
      severity: 'error',
      comment: 'Feature services are given their dependencies; jobs, commands, surfaces and wiring use them.',
      from: { path: FEATURES },
      to: { path: '^(commands|jobs)/|^src/(app|slack|cli)/|^src/main[.]ts$' },
    },
    {
      name: 'jobs-are-given-services',
      severity: 'error',
      comment: 'jobs/ are BullMQ processors and sweeps: given services, never wiring, never commands.',
      from: { path: '^jobs/' },
      to: { path: '^commands/|^src/(app|slack|cli)/|^src/main[.]ts$' },
    },
    {
      name: 'commands-are-pure',
      severity: 'error',
      comment: 'commands/ parse, call services and return a Reply: never jobs, wiring or a surface.',
      from: { path: '^commands/' },
      to: { path: '^jobs/|^src/(app|slack|cli)/|^src/main[.]ts$' },
    },
    {
      name: 'surfaces-only-render',
      severity: 'error',
      comment: 'src/slack and src/cli render Replies and deliver messages; they are given the rest.',
      from: { path: SURFACES },
      to: { path: `^jobs/|^src/app/|^src/main[.]ts$|${FEATURES}|^src/(cluster|queue)/` },
    },
    {
      name: 'charts-only-render',
      severity: 'error',
      comment: 'src/charts turns a Reply.chart into an image; it knows only the shared contracts.',
      from: { path: '^src/charts/' },
      to: { path: '^(src|commands|jobs)/', pathNot: [SHARED, '^src/charts/'] },
    },
    {
      name: 'only-surfaces-draw-charts',
      severity: 'error',
      comment: 'Charts are drawn where a Reply is shown: the surfaces (and the wiring that builds them).',
      from: { path: PRODUCT, pathNot: '^src/(slack|cli|app|charts)/' },
      to: { path: '^src/charts/' },
    },
    {
      name: 'ops-knows-only-the-contracts',
      severity: 'error',
      comment:
        'src/ops serves health, readiness and metrics from what it is given (checks, a registry); the wiring gives it.',
      from: { path: '^src/ops/' },
      to: { path: '^(src|commands|jobs)/', pathNot: [SHARED, '^src/ops/'] },
    },
    {
      name: 'only-ops-imports-prom-client',
      severity: 'error',
      comment:
        'Rooms record through the Metrics interface they are given (src/metrics.ts), never prom-client.',
      from: { path: PRODUCT, pathNot: '^src/ops/' },
      to: { path: '^node_modules/prom-client/' },
    },
    {
      name: 'only-wiring-uses-ops',
      severity: 'error',
      comment:
        'The ops server and the Prometheus registry are built by the wiring (src/app, src/main.ts) only.',
      from: { path: PRODUCT, pathNot: '^src/(ops/|app/|main[.]ts$)' },
      to: { path: '^src/ops/' },
    },
    {
      name: 'only-main-imports-app',
      severity: 'error',
      comment: 'src/app wires the features; only the composition root (src/main.ts) imports it.',
      from: { path: PRODUCT, pathNot: '^src/(main[.]ts$|app/)' },
      to: { path: '^src/app/' },
    },
    {
      name: 'sandbox-stands-apart',
      comment:
        'src/sandbox builds a stand-in world from processes and files; it knows nothing of the bot beyond the shared contracts.',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^(src|commands|jobs)/', pathNot: [SHARED, '^src/sandbox/'] },
    },
    {
      name: 'only-wiring-starts-the-sandbox',
      comment: 'The product runs on a real cluster; only the demo wiring (src/app) starts the sandbox.',
      severity: 'error',
      from: { path: PRODUCT, pathNot: '^src/(sandbox/|app/|main[.]ts$)' },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'zod-only-through-src-zod',
      severity: 'error',
      comment:
        'Schemas are built with src/zod.ts (zod/mini, with English messages set), never with the package ' +
        "itself: the classic API would put all of zod in every CLI call's start, and messages need the locale.",
      from: { path: PRODUCT, pathNot: '^src/zod[.]ts$' },
      to: { path: '^node_modules/zod/' },
    },
    {
      name: 'transport-stays-in-cluster',
      severity: 'error',
      comment:
        'Only src/cluster runs anything on the cluster: outside it, code is given typed cluster services, ' +
        'never a Transport (only the wiring builds one).',
      from: { path: PRODUCT, pathNot: '^src/(cluster/|app/|main[.]ts$)' },
      to: { path: TRANSPORTS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but stays visible so a rule can name a package (prom-client).
    exclude: { path: '^(dist|test|bench|scripts|bin)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
