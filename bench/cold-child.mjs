// One measured process of the cold-start bench (bench/cold-start.ts spawns it).
//   node cold-child.mjs empty                      imports nothing, exits
//   node cold-child.mjs cold <bundle> <event>       imports the bundle, handles the event once, exits
//   node cold-child.mjs warm <bundle> <event> <n>   imports, handles once, then times n more
// The parent times `empty` and `cold` from spawn to exit. Each mode prints one JSON line with
// the CPU time the process used (user + system, all threads) — a figure that other load on
// the machine disturbs far less than wall time; `warm` also prints per-call wall and CPU times.
const cpuMs = (u = process.cpuUsage()) => (u.user + u.system) / 1000;
const [mode, bundle, eventJson, n] = process.argv.slice(2);
if (mode === 'empty') {
  process.stdout.write(`${JSON.stringify({ cpu: cpuMs() })}\n`);
  process.exit(0);
}
const { handler } = await import(bundle);
const event = JSON.parse(eventJson);
const check = (out) => {
  if (out?.batchItemFailures?.length) throw new Error(`the bench event failed: ${JSON.stringify(out)}`);
};
// The handler's structured logs go nowhere (the same in every mode).
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
check(await handler(event));
if (mode === 'cold') {
  write(`${JSON.stringify({ cpu: cpuMs() })}\n`);
  process.exit(0);
}
const times = [];
const cpu = [];
for (let i = 0; i < Number(n ?? 10); i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  check(await handler(event));
  cpu.push(cpuMs(process.cpuUsage(c0)));
  times.push(performance.now() - t0);
}
write(`${JSON.stringify({ times, cpu })}\n`);
process.exit(0);
