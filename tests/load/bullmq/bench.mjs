//! BullMQ peer of the SLA timer benchmark (issue 4): the same workload as `sla-bench`,
//! as BullMQ delayed jobs on the same Redis, printing the same JSON line.
//
//   node bench.mjs [--mode single|bulk] [--timers 100000] [--window 20s] [--lead 30s]
//                  [--grace 30s] [--concurrency 256] [--batch 500] [--settle 2s]
//
// Workload: N jobs whose due times are spread evenly over a window that starts `lead`
// after scheduling begins (so every job should be added before it is due; one that is
// not is counted as `late_scheduled`). Each job is added with `delay = due - now`, so
// BullMQ runs it at its due time. `single` keeps `concurrency` `queue.add` calls in
// flight; `bulk` sends `queue.addBulk` chunks of `batch` jobs, `concurrency` chunks in
// flight. One Worker at BullMQ's DEFAULT settings processes them and records, per job,
// processing start minus intended due time (the lateness), and job ids seen twice.
//
// What is compared: BullMQ keeps jobs only in Redis; it writes nothing durable beyond
// Redis (no Postgres, no fsync of its own), while the SLA service commits every timer
// to Postgres before answering. The scheduling rate of BullMQ is therefore the rate of
// a non-durable peer.

import { Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';

// ---- arguments -------------------------------------------------------------------

/** "20s", "1500ms", "2m" or a bare number of seconds -> milliseconds. */
function parseDuration(raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(raw).trim());
  if (!m) throw new Error(`bad duration: ${raw}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function parseArgs(argv) {
  const opts = {
    mode: 'single',
    timers: 100_000,
    window: 20_000,
    lead: 30_000,
    grace: 30_000,
    settle: 2_000,
    concurrency: 256,
    batch: 500,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    switch (key) {
      case 'mode':
        if (!['single', 'bulk', 'batch'].includes(value)) throw new Error(`bad --mode ${value}`);
        opts.mode = value === 'batch' ? 'bulk' : value;
        break;
      case 'timers': case 'concurrency': case 'batch':
        opts[key] = Number.parseInt(value, 10);
        if (!(opts[key] > 0)) throw new Error(`bad --${key} ${value}`);
        break;
      case 'window': case 'lead': case 'grace': case 'settle':
        opts[key] = parseDuration(value);
        break;
      default:
        throw new Error(`unknown option --${key}`);
    }
  }
  return opts;
}

// ---- statistics ------------------------------------------------------------------

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const round = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

// ---- the run ---------------------------------------------------------------------

function redisConnection() {
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db,
  };
}

// ---- CPU while adding, as sla-bench measures it (Linux /proc; else null) --------------
// This process is the "load generator" (the caller and BullMQ's client library at once);
// Redis is BullMQ's server. USER_HZ is 100 ticks per second.
// With children: also the time of ended children (cutime + cstime), e.g. a Redis fork.
function procSecs(pid, children = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
    const own = Number(f[11]) + Number(f[12]);
    return (children ? own + Number(f[13]) + Number(f[14]) : own) / 100;
  } catch {
    return null;
  }
}
function byName(comm) {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) sum += procSecs(pid, true) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}
function machineBusySecs() {
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (t.reduce((a, b) => a + b, 0) - t[3] - (t[4] ?? 0)) / 100;
}
function cpuSnapshot() {
  try {
    return { at: Date.now(), load: procSecs('self'), redis: byName('redis-server'), machine: machineBusySecs() };
  } catch {
    return null;
  }
}
function cpuPerJob(a, b, jobs) {
  if (!a || !b || a.load === null || b.load === null) return null;
  const us = (x, y) => Math.round(((y - x) * 1e7) / Math.max(jobs, 1)) / 10;
  return {
    service_us: null,
    load_us: us(a.load, b.load),
    postgres_us: null,
    redis_us: us(a.redis, b.redis),
    busy_cores: Math.round(((b.machine - a.machine) / Math.max((b.at - a.at) / 1000, 1e-9)) * 100) / 100,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const connection = redisConnection();
  // A unique queue name: several runs (and the sla-bench prefixes) share one Redis.
  const queueName = `sla-bench-bullmq-${Date.now()}-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(queueName, { connection });

  const n = opts.timers;
  const processedCount = new Map(); // job id -> times processed
  const lateness = []; // ms, first processing of each job
  let duplicates = 0;
  let early = 0;
  let allDone;
  const allArrived = new Promise((resolve) => { allDone = resolve; });
  let expected = Infinity; // set once scheduling finished

  // The Worker at BullMQ's DEFAULT settings, on purpose: no concurrency, drainDelay,
  // stalledInterval or lockDuration tuning (issue 4 compares against "BullMQ at its
  // default settings"). It starts before the jobs are added, as a deployed worker would.
  const worker = new Worker(
    queueName,
    async (job) => {
      // Processing start: the moment BullMQ handed the job to our code.
      const startedAt = Date.now();
      const seen = processedCount.get(job.id) ?? 0;
      processedCount.set(job.id, seen + 1);
      if (seen > 0) {
        duplicates++;
        return;
      }
      const late = startedAt - job.data.due;
      if (late < 0) early++;
      lateness.push(late);
      if (processedCount.size >= expected) allDone();
    },
    { connection },
  );
  worker.on('error', (err) => console.error(`bullmq worker error: ${err.message}`));
  await worker.waitUntilReady();
  await queue.waitUntilReady();

  // Due times: evenly spread over [windowStart, windowStart + window).
  const t0 = Date.now();
  const windowStart = t0 + opts.lead;
  const windowEnd = windowStart + opts.window;
  const dueOf = (i) => windowStart + Math.floor((i * opts.window) / n);
  const jobOf = (i) => {
    const due = dueOf(i);
    const now = Date.now();
    // jobId is ours so that a job processed twice is recognisable. BullMQ runs a job at
    // timestamp + delay; passing the timestamp we computed the delay from makes that sum
    // exactly the due time (else the job is stamped a little later, inside add()).
    return {
      name: 'bench',
      data: { i, due },
      opts: { jobId: `t${i}`, timestamp: now, delay: Math.max(0, due - now) },
    };
  };

  const cpuBefore = cpuSnapshot();
  let next = 0;
  let lateScheduled = 0;
  let errors = 0;
  let firstError = null;
  const unit = opts.mode === 'single' ? 1 : opts.batch;
  async function scheduler() {
    for (;;) {
      const start = next;
      if (start >= n) return;
      const end = Math.min(n, start + unit);
      next = end;
      const jobs = [];
      for (let i = start; i < end; i++) jobs.push(jobOf(i));
      try {
        if (opts.mode === 'single') {
          const j = jobs[0];
          await queue.add(j.name, j.data, j.opts);
        } else {
          await queue.addBulk(jobs);
        }
      } catch (err) {
        errors += jobs.length;
        firstError ??= err.message;
        continue;
      }
      // A job acknowledged after its due time could not be on time: count it.
      const now = Date.now();
      for (const j of jobs) if (j.data.due < now) lateScheduled++;
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, scheduler));
  const scheduleSecs = (Date.now() - t0) / 1000;
  const scheduled = n - errors;
  const cpu = cpuPerJob(cpuBefore, cpuSnapshot(), scheduled);
  const scheduleRate = scheduled / scheduleSecs;
  if (lateScheduled > 0) {
    console.error(`warning: ${lateScheduled} jobs were added after their due time (lead too short?)`);
  }
  if (errors > 0) console.error(`warning: ${errors} jobs failed to add; first error: ${firstError}`);

  const processedJobs = () => processedCount.size;
  expected = scheduled;
  if (processedJobs() >= expected) allDone();
  const deadline = Math.max(0, windowEnd + opts.grace - Date.now());
  let timer;
  await Promise.race([allArrived, new Promise((r) => { timer = setTimeout(r, deadline); })]);
  clearTimeout(timer);
  // A short settle so that a duplicate right behind the last job is still seen.
  await new Promise((r) => setTimeout(r, opts.settle));

  await worker.close();
  const processed = processedJobs();
  const missing = scheduled - processed;
  lateness.sort((a, b) => a - b);
  const result = {
    system: 'bullmq',
    replicas: 1,
    mode: opts.mode,
    timers: n,
    scheduled,
    schedule_errors: errors,
    late_scheduled: lateScheduled,
    retries: 0,
    schedule_secs: round(scheduleSecs),
    schedule_rate: round(scheduleRate),
    p50_ms: round(percentile(lateness, 50)),
    p99_ms: round(percentile(lateness, 99)),
    p999_ms: round(percentile(lateness, 99.9)),
    max_ms: round(lateness.length ? lateness[lateness.length - 1] : null),
    early,
    duplicates,
    missing,
    window_s: opts.window / 1000,
    concurrency: opts.concurrency,
    batch: opts.mode === 'single' ? 1 : opts.batch,
    cpu,
  };
  console.log(
    `bullmq ${opts.mode} x1 worker: ${n} jobs, scheduled at ${scheduleRate.toFixed(0)}/s ` +
      `(${scheduleSecs.toFixed(2)} s); lateness p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ` +
      `p99.9 ${result.p999_ms} ms, max ${result.max_ms} ms; duplicates ${duplicates}, missing ${missing}`,
  );
  console.log(JSON.stringify(result));

  // Leave nothing behind in the shared Redis.
  await queue.obliterate({ force: true });
  await queue.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bullmq bench failed: ${err.stack || err}`);
    process.exit(1);
  },
);
