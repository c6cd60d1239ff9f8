#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node) on .npy inputs:
// the peer that our engine is checked and timed against.
//
//   node bench/ort_run.js MODEL.onnx --input NAME=FILE.npy ... [--output-dir DIR]
//        [--threads N] [--iters N] [--warmup N] [--opt-level disabled|basic|extended|all]
//
// --output-dir writes DIR/<output name>.npy per graph output (the output's own
// dtype; characters outside [A-Za-z0-9_.-] in a name become '_').
// --iters N > 0 times N runs after --warmup runs and prints ONE JSON object
//   {median_ms, p90_ms, min_ms, iters, warmup, threads, ort_version}
// on stdout. Without --iters it prints {outputs:[{name,dtype,shape,file}], ort_version}.
//
// ONNX Runtime is looked up in bench/.ort (install it with
//   npm install --ignore-scripts --prefix bench/.ort onnxruntime-node),
// then in $ORT_NODE_DIR, then on Node's normal module path.
// Exit codes: 0 ok, 2 bad usage or input, 4 run failed.
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('./npy');
const { loadOrt, parseInputArg, readFeeds } = require('./ort_common');

function usage(msg) {
  if (msg) process.stderr.write(`ort_run: ${msg}\n`);
  process.stderr.write('usage: node bench/ort_run.js MODEL.onnx --input NAME=FILE.npy ... ' +
                       '[--output-dir DIR] [--threads N] [--iters N] [--warmup N] ' +
                       '[--opt-level disabled|basic|extended|all]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], outputDir: null, threads: 2, iters: 0, warmup: 3, optLevel: 'all' };
  const intArg = (flag, v) => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${flag} needs a non-negative integer, got '${v}'`);
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
    } else if (arg === '--output-dir') a.outputDir = next();
    else if (arg === '--threads') a.threads = intArg(arg, next());
    else if (arg === '--iters') a.iters = intArg(arg, next());
    else if (arg === '--warmup') a.warmup = intArg(arg, next());
    else if (arg === '--opt-level') a.optLevel = next();
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (a.model === null) a.model = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (!a.model) usage('missing MODEL.onnx');
  if (!['disabled', 'basic', 'extended', 'all'].includes(a.optLevel)) usage(`bad --opt-level ${a.optLevel}`);
  if (a.threads < 1) usage('--threads must be >= 1');
  return a;
}

function percentile(sorted, q) {
  // Linear interpolation between closest ranks (NumPy's default).
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) usage(`${args.model}: no such file`);
  let ortLib;
  try { ortLib = loadOrt(); } catch (e) { process.stderr.write(`ort_run: ${e.message}\n`); process.exit(4); }
  const { ort, version } = ortLib;

  let feeds;
  try { feeds = readFeeds(ort, args.inputs); } catch (e) { usage(e.message); }

  let session;
  try {
    session = await ort.InferenceSession.create(args.model, {
      intraOpNumThreads: args.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: args.optLevel,
    });
  } catch (e) {
    process.stderr.write(`ort_run: ${args.model}: ${e.message}\n`);
    process.exit(2);
  }
  for (const name of session.inputNames) {
    if (!(name in feeds)) usage(`${args.model}: missing --input for graph input '${name}'`);
  }
  for (const name of Object.keys(feeds)) {
    if (!session.inputNames.includes(name)) usage(`${args.model}: model has no input '${name}'`);
  }

  let results;
  try { results = await session.run(feeds); } catch (e) {
    process.stderr.write(`ort_run: run failed: ${e.message}\n`);
    // Wrong shape/rank/dtype of a given input is bad input, not a run failure.
    process.exit(/invalid dimensions|invalid rank|Unexpected input data type/i.test(e.message) ? 2 : 4);
  }

  const written = [];
  if (args.outputDir) {
    fs.mkdirSync(args.outputDir, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      const file = path.join(args.outputDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy');
      npy.write(file, { dtype: t.type, shape: t.dims.map(Number), data: t.data });
      written.push({ name, dtype: t.type, shape: t.dims.map(Number), file });
    }
  }

  if (args.iters > 0) {
    for (let i = 0; i < args.warmup; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < args.iters; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((x, y) => x - y);
    process.stdout.write(JSON.stringify({
      median_ms: percentile(times, 0.5), p90_ms: percentile(times, 0.9), min_ms: times[0],
      iters: args.iters, warmup: args.warmup, threads: args.threads, ort_version: version,
    }) + '\n');
  } else {
    if (!args.outputDir) {
      for (const name of session.outputNames) {
        const t = results[name];
        written.push({ name, dtype: t.type, shape: t.dims.map(Number) });
      }
    }
    process.stdout.write(JSON.stringify({ outputs: written, ort_version: version }) + '\n');
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => { process.stderr.write(`ort_run: ${e.stack || e}\n`); process.exit(4); });
