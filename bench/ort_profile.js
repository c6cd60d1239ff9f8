#!/usr/bin/env node
// Per-node time in ONNX Runtime (npm onnxruntime-node, its built-in profiler),
// printed like `shardbench-cli bench --profile` so the two can be read side by
// side when looking for where our engine loses time to the peer.
//
//   node bench/ort_profile.js MODEL.onnx --input NAME=FILE.npy ... [--threads 2]
//        [--iters 40] [--warmup 3] [--top 30]
//
// ORT names a node after its first output (and fuses: a Conv's node may carry
// a Clip or Add; NCHWc reorders appear as ReorderInput/ReorderOutput). Times
// are the mean per run over the timed runs (warm-up runs are left out).
// Exit codes: 0 ok, 2 bad usage or input, 4 run failed.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadOrt, parseInputArg, readFeeds } = require('./ort_common');

function usage(msg) {
  if (msg) process.stderr.write(`ort_profile: ${msg}\n`);
  process.stderr.write('usage: node bench/ort_profile.js MODEL.onnx --input NAME=FILE.npy ... ' +
                       '[--threads N] [--iters N] [--warmup N] [--top N]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], threads: 2, iters: 40, warmup: 3, top: 30 };
  const count = (flag, v, min) => {
    if (v === undefined || !/^\d+$/.test(v) || parseInt(v, 10) < min)
      usage(`${flag} needs an integer >= ${min}, got '${v}'`);
    return parseInt(v, 10);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${arg} needs a value`); return argv[++i]; };
    if (arg === '--input') {
      const v = next();
      const input = parseInputArg(v);
      if (!input) usage(`--input expects NAME=FILE.npy, got '${v}'`);
      a.inputs.push(input);
    } else if (arg === '--threads') a.threads = count(arg, next(), 1);
    else if (arg === '--iters') a.iters = count(arg, next(), 1);
    else if (arg === '--warmup') a.warmup = count(arg, next(), 0);
    else if (arg === '--top') a.top = count(arg, next(), 0);
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (a.model === null) a.model = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (!a.model) usage('no model given');
  if (a.inputs.length === 0) usage('no --input given');
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort, feeds;
  try { ({ ort } = loadOrt()); } catch (e) { process.stderr.write(`ort_profile: ${e.message}\n`); process.exit(2); }
  try { feeds = readFeeds(ort, a.inputs); } catch (e) { usage(e.message); }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile-'));
  let session;
  try {
    session = await ort.InferenceSession.create(a.model, {
      intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: path.join(dir, 'ort'),
    });
    for (let i = 0; i < a.warmup + a.iters; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
  } catch (e) {
    process.stderr.write(`ort_profile: ${a.model}: ${e.message}\n`);
    process.exit(4);
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
  if (!file) { process.stderr.write('ort_profile: ONNX Runtime wrote no profile\n'); process.exit(4); }
  const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });

  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  if (runs.length < a.warmup + a.iters) { process.stderr.write('ort_profile: incomplete profile\n'); process.exit(4); }
  const timed = runs.slice(a.warmup);
  const start = timed[0].ts;
  const byOp = new Map(), byNode = new Map(), opOf = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < start) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const op = (e.args && e.args.op_name) || '?';
    opOf.set(node, op);
    byOp.set(op, (byOp.get(op) || 0) + e.dur);
    byNode.set(node, (byNode.get(node) || 0) + e.dur);
  }
  const perRun = (us) => us / timed.length / 1000;
  const runMs = perRun(timed.reduce((s, r) => s + r.dur, 0));
  const total = [...byOp.values()].reduce((s, v) => s + v, 0);
  const pct = (us) => (100 * us / total).toFixed(1).padStart(7);
  console.log(`profile: ONNX Runtime, ${a.threads} threads, mean of ${timed.length} runs, ` +
              `${runMs.toFixed(3)} ms per run (${perRun(total).toFixed(3)} ms in kernels)`);
  console.log(`${'op type'.padEnd(28)}${'nodes'.padStart(7)}${'ms'.padStart(11)}${'%'.padStart(8)}`);
  const nodesOf = (op) => [...opOf.values()].filter((o) => o === op).length;
  for (const [op, us] of [...byOp].sort((x, y) => y[1] - x[1]))
    console.log(`${op.padEnd(28)}${String(nodesOf(op)).padStart(7)}${perRun(us).toFixed(3).padStart(11)}${pct(us)}`);
  if (a.top > 0) {
    console.log('\nslowest nodes');
    console.log(`${'ms'.padStart(9)}${'%'.padStart(8)}  ${'op type'.padEnd(20)}node`);
    for (const [node, us] of [...byNode].sort((x, y) => y[1] - x[1]).slice(0, a.top))
      console.log(`${perRun(us).toFixed(3).padStart(9)}${pct(us)}  ${opOf.get(node).padEnd(20)}${node}`);
  }
}

main().catch((e) => { process.stderr.write(`ort_profile: ${e.message}\n`); process.exit(4); });
