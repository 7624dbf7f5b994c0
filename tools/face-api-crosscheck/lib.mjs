// What embed.mjs, golden.mjs and decode-weights.mjs share: face-api on the pure-JS CPU backend of
// tfjs 4.22, the model folder, image decoding, and the number format of the descriptor files.
//
// face-api's own FaceRecognitionNet is the reference: it is given the decoded RGB image as an
// int32 tensor and does the preprocessing of docs/face-models.md itself (centred zero pad to a
// square, resizeBilinear to 150 without align-corners or half-pixel centres, mean subtraction,
// division by 255), so nothing here re-implements the network or its input pipeline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The node-wasm build is the one that needs no native tfjs-node; it loads tfjs and the wasm
// backend, and we then pick the plain JavaScript CPU backend so every platform computes the same.
export const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
export const tf = faceapi.tf;

export async function initCpu() {
  if (!(await tf.setBackend('cpu'))) throw new Error('cannot select the tfjs cpu backend');
  await tf.ready();
}

// Same lookup as tsgan::io::face_models_dir(): $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models.
export function defaultModelDir() {
  const env = process.env.TSGAN_MODELS_DIR;
  return env && env.length > 0 ? env : path.join(os.homedir(), '.cache', 'tsgan', 'models');
}

export async function loadRecognizer(modelDir) {
  const manifest = path.join(modelDir, 'face_recognition_model-weights_manifest.json');
  if (!fs.existsSync(manifest)) {
    throw new Error(`${manifest} not found: run scripts/fetch-face-models.sh (or pass --models DIR)`);
  }
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  return faceapi.nets.faceRecognitionNet;
}

// ---- images: { width, height, rgb: Uint8Array of height*width*3, row-major, R,G,B } ----------

function decodePnm(buf, file) {
  // Binary PGM (P5, grey) and PPM (P6, RGB) with maxval <= 255; comments allowed in the header.
  const magic = buf.toString('latin1', 0, 2);
  if (magic !== 'P5' && magic !== 'P6') throw new Error(`${file}: only binary PGM (P5) and PPM (P6) are read`);
  const fields = [];
  let i = 2;
  while (fields.length < 3) {
    while (i < buf.length && /\s/.test(String.fromCharCode(buf[i]))) i++;
    if (buf[i] === 0x23) { // '#': comment to end of line
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    let j = i;
    while (j < buf.length && /[0-9]/.test(String.fromCharCode(buf[j]))) j++;
    if (j === i) throw new Error(`${file}: malformed PNM header`);
    fields.push(Number(buf.toString('latin1', i, j)));
    i = j;
  }
  const [width, height, maxval] = fields;
  if (maxval > 255) throw new Error(`${file}: 16-bit PNM is not supported`);
  i += 1; // the single whitespace byte after maxval
  const channels = magic === 'P5' ? 1 : 3;
  const need = width * height * channels;
  if (buf.length - i < need) throw new Error(`${file}: truncated pixel data`);
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = buf[i + p * channels + (channels === 1 ? 0 : c)];
      rgb[p * 3 + c] = maxval === 255 ? v : Math.round((v * 255) / maxval);
    }
  }
  return { width, height, rgb };
}

function dropAlpha(width, height, rgba) {
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = rgba[p * 4];
    rgb[p * 3 + 1] = rgba[p * 4 + 1];
    rgb[p * 3 + 2] = rgba[p * 4 + 2];
  }
  return rgb;
}

export function readImage(file) {
  const buf = fs.readFileSync(file);
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) {
    const { PNG } = require('pngjs');
    const png = PNG.sync.read(buf); // always 8-bit RGBA; alpha is dropped, not composited
    return { width: png.width, height: png.height, rgb: dropAlpha(png.width, png.height, png.data) };
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xd8) {
    const jpeg = require('jpeg-js');
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgb: dropAlpha(img.width, img.height, img.data) };
  }
  if (buf.length >= 2 && buf[0] === 0x50 && (buf[1] === 0x35 || buf[1] === 0x36)) return decodePnm(buf, file);
  throw new Error(`${file}: not a PNG, JPEG, PGM (P5) or PPM (P6) file`);
}

// A rectangle of the image, clipped to it.
export function crop(img, x, y, w, h) {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(img.width, x + w);
  const y1 = Math.min(img.height, y + h);
  if (x1 <= x0 || y1 <= y0) throw new Error(`crop ${x},${y},${w},${h} lies outside the ${img.width}x${img.height} image`);
  const out = new Uint8Array((x1 - x0) * (y1 - y0) * 3);
  for (let r = y0; r < y1; r++) {
    out.set(img.rgb.subarray((r * img.width + x0) * 3, (r * img.width + x1) * 3), (r - y0) * (x1 - x0) * 3);
  }
  return { width: x1 - x0, height: y1 - y0, rgb: out };
}

// The fixed centre crop used for LFW (docs/face-models.md §2.5): a 126x126 square at (62, 62) of a
// 250x250 image. For other sizes: a square of side round(min(W, H) * 126/250), centred, with the
// odd pixel of slack after it (the same 62 = floor((250 - 126)/2) at 250).
export function centerCrop(img) {
  const side = Math.round((Math.min(img.width, img.height) * 126) / 250);
  return crop(img, Math.floor((img.width - side) / 2), Math.floor((img.height - side) / 2), side, side);
}

export function imageTensor(img) {
  return tf.tensor3d(Int32Array.from(img.rgb), [img.height, img.width, 3], 'int32');
}

// ---- numbers ---------------------------------------------------------------------------------

// The shortest decimal that reads back as the same float32, which is also what fmt's "{}" prints
// for a float in C++; so two correct tools print identical lines.
export function formatFloat32(v) {
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(f);
}

export function descriptorLine(name, values) {
  return [name, ...Array.from(values, formatFloat32)].join(' ');
}
