// What the ONNX Runtime peer scripts (ort_run.js, ort_profile.js) share:
// finding onnxruntime-node, reading `--input NAME=FILE.npy` arguments and
// turning them into feeds.
'use strict';

const path = require('path');
const npy = require('./npy');

// { ort, version }: onnxruntime-node from bench/.ort, then $ORT_NODE_DIR, then
// Node's module path. Throws with install instructions when none loads.
function loadOrt() {
  const candidates = [
    path.join(__dirname, '.ort', 'node_modules', 'onnxruntime-node'),
    process.env.ORT_NODE_DIR ? path.join(process.env.ORT_NODE_DIR, 'node_modules', 'onnxruntime-node') : null,
    'onnxruntime-node',
  ].filter(Boolean);
  const errors = [];
  for (const c of candidates) {
    try {
      const ort = require(c);
      let version = 'unknown';
      try {
        version = require(path.join(path.dirname(require.resolve(c)), '..', '..', 'package.json')).version;
      } catch (_) {
        try { version = require(path.join(c, 'package.json')).version; } catch (_) { /* keep unknown */ }
      }
      return { ort, version };
    } catch (e) {
      errors.push(`${c}: ${e.message.split('\n')[0]}`);
    }
  }
  throw new Error('cannot load onnxruntime-node; install it with\n' +
                  '  npm install --ignore-scripts --prefix bench/.ort onnxruntime-node\n' + errors.join('\n'));
}

// `NAME=FILE.npy` as { name, file }, or null when it is not of that form.
function parseInputArg(value) {
  const eq = value.indexOf('=');
  return eq > 0 ? { name: value.slice(0, eq), file: value.slice(eq + 1) } : null;
}

// Feeds for session.run from [{ name, file }]; throws naming the bad file.
function readFeeds(ort, inputs) {
  const feeds = {};
  for (const input of inputs) {
    const arr = npy.read(input.file);
    feeds[input.name] = new ort.Tensor(arr.dtype, arr.data, arr.shape);
  }
  return feeds;
}

module.exports = { loadOrt, parseInputArg, readFeeds };
