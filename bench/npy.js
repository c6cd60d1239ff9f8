// Minimal NumPy .npy reader/writer for the benchmark scripts (format versions
// 1.0-3.0, little-endian, C order). Dtypes use ONNX Runtime's names:
// float32, float64, float16 (raw uint16 bits), int64, int32, int16, int8,
// uint8, bool.
'use strict';

const fs = require('fs');

const DESCR_TO_TYPE = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16',
  '<i8': 'int64', '<i4': 'int32', '<i2': 'int16', '|i1': 'int8', '<i1': 'int8',
  '|u1': 'uint8', '<u1': 'uint8', '|b1': 'bool', '<b1': 'bool',
};
const TYPE_TO_DESCR = {
  float32: '<f4', float64: '<f8', float16: '<f2', int64: '<i8', int32: '<i4', int16: '<i2',
  int8: '|i1', uint8: '|u1', bool: '|b1',
};
const TYPE_TO_ARRAY = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int64: BigInt64Array,
  int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const type = DESCR_TO_TYPE[descr[1]];
  if (!type) throw new Error(`${file}: unsupported dtype '${descr[1]}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`${file}: bad shape entry '${s}'`);
    return parseInt(s, 10);
  });
  return { type, dims };
}

function read(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${file}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) { headerLen = buf.readUInt16LE(8); offset = 10; } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${file}: truncated header`);
    headerLen = buf.readUInt32LE(8); offset = 12;
  } else throw new Error(`${file}: unsupported .npy version ${major}`);
  if (offset + headerLen > buf.length) throw new Error(`${file}: truncated header`);
  const { type, dims } = parseHeader(buf.toString('latin1', offset, offset + headerLen), file);
  const dataStart = offset + headerLen;
  const count = dims.reduce((a, b) => a * b, 1);
  const Ctor = TYPE_TO_ARRAY[type];
  const nbytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - dataStart < nbytes) {
    throw new Error(`${file}: truncated data (${buf.length - dataStart} of ${nbytes} bytes)`);
  }
  // Copy into a fresh, aligned buffer.
  const raw = new ArrayBuffer(nbytes);
  new Uint8Array(raw).set(buf.subarray(dataStart, dataStart + nbytes));
  let data = new Ctor(raw);
  if (type === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return { dtype: type, shape: dims, data };
}

function write(file, arr) {
  const descr = TYPE_TO_DESCR[arr.dtype];
  if (!descr) throw new Error(`${file}: cannot write dtype '${arr.dtype}'`);
  const Ctor = TYPE_TO_ARRAY[arr.dtype];
  let data = arr.data;
  if (arr.dtype === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  else if (!(data instanceof Ctor)) data = Ctor.from(data);
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so the data starts on a 64-byte boundary, header ends with '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93; pre.write('NUMPY', 1, 'latin1'); pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

module.exports = { read, write };
