// Reference values for tsgan's TF.js weights loader (tests/unit/io/tfjs_weights_test.cpp): tfjs's
// own tf.io.decodeWeights reads a model's manifest and .bin, and this prints, per tensor, its
// quantisation, element count, first four values, last value and the sum of all values (in
// double, first to last), floats written as the shortest decimal that reads back as the float32.
//
// Usage: node decode-weights.mjs [--models DIR] [--model NAME] [TENSOR...]
//   NAME defaults to face_recognition_model; without TENSORs a fixed set used by the C++ test.
import fs from 'node:fs';
import path from 'node:path';
import { defaultModelDir, formatFloat32, initCpu, tf } from './lib.mjs';

const defaults = [
  'conv32_down/conv/filters',     // uint8
  'conv32_down/conv/bias',        // uint8, |b| < 2e-4
  'conv64_1/conv1/conv/filters',  // raw float32
  'conv256_down_out/conv2/scale/weights',
  'fc',
];

async function main() {
  let models = defaultModelDir();
  let model = 'face_recognition_model';
  const names = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models' && i + 1 < argv.length) models = argv[++i];
    else if (argv[i] === '--model' && i + 1 < argv.length) model = argv[++i];
    else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}`);
    else names.push(argv[i]);
  }
  await initCpu();
  const manifest = JSON.parse(fs.readFileSync(path.join(models, `${model}-weights_manifest.json`), 'utf8'));
  const specs = manifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(models, p)))));
  // A fresh ArrayBuffer holding exactly the file bytes (a Buffer may be a view into a larger pool).
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const tensors = tf.io.decodeWeights(buffer, specs);
  for (const name of names.length ? names : defaults) {
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new Error(`no tensor ${name} in ${model}`);
    const v = tensors[name].dataSync();
    let sum = 0;
    for (const x of v) sum += x;
    const q = spec.quantization ? spec.quantization.dtype : `raw ${spec.dtype}`;
    console.log(`${name} ${q} [${spec.shape}] count ${v.length} first ${Array.from(v.slice(0, 4), formatFloat32).join(' ')} ` +
                `last ${formatFloat32(v[v.length - 1])} sum ${sum.toPrecision(17)}`);
  }
}

main().catch((e) => {
  console.error(`decode-weights.mjs: ${e.message}`);
  process.exit(1);
});
