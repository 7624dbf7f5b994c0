// Golden outputs of MediaPipe's face mesh network as @vladmandic/human 3.3.6 ships it
// (models/facemesh.json + .bin, fetched by scripts/fetch-face-mesh.sh), run by tfjs 4.22.0's own
// graph executor on the pure-JS CPU backend, with human's preprocessing (facemeshutil.ts
// cutAndResize: tf.image.cropAndResize of the face box to 192x192, then a division by 255) and
// human's mapping of the outputs back to the image (transformRawCoords without its rounding and
// without rotation): x = cx + (raw_x − 96)·box_w/192, y likewise, z = raw_z.
// tests/unit/models/face_mesh_test.cpp compares tsgan::models::FaceMesh with the fixture.
//
// Usage: node facemesh.mjs [--models DIR] [--data DIR] [--out FILE]
//   DIR for --data is the shared data folder (default ../../../shared/data from the checkout's
//   root, or $TSGAN_SHARED_DATA); FILE defaults to ../../tests/fixtures/face_mesh_golden.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultModelDir, formatFloat32, initCpu, readImage, tf } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// Shared images (relative to the shared data folder) and square face boxes [x0, y0, x1, y1] in
// image pixels, chosen by hand around each face as human's detector would give them (the face
// box enlarged 1.4 times and made square); the 64x60 CMU images test boxes that leave the image.
// The CMU images are PGM, which every decoder reads alike, so they carry the exact comparison;
// the LFW images are JPEG, which jpeg-js here and stb_image in tsgan decode a little differently
// (the crop's mean differs by about 0.3 %), so they check the points to 0.5 px only.
const cases = [
  ['faces/lfw-deepfunneled-view2/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg', [55, 58, 195, 198]],
  ['faces/lfw-deepfunneled-view2/images/Aaron_Peirsol/Aaron_Peirsol_0003.jpg', [62, 50, 188, 176]],
  ['faces/lfw-deepfunneled-extra/images/AJ_Cook/AJ_Cook_0001.jpg', [50, 52, 200, 202]],
  ['faces/cmu-face-images-half/images/alex/alex_forward_angry_eyes.pgm', [8, 2, 60, 54]],
  ['faces/cmu-face-images-half/images/bob/bob_left_neutral_eyes.pgm', [6, 4, 58, 56]],
  ['faces/cmu-face-images-half/images/emma/emma_right_happy_eyes.pgm', [6, 4, 58, 56]],
];

function parseArgs(argv) {
  const o = {
    models: defaultModelDir(),
    data: process.env.TSGAN_SHARED_DATA || path.join(here, '..', '..', '..', 'shared', 'data'),
    out: path.join(here, '..', '..', 'tests', 'fixtures', 'face_mesh_golden.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in o) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]} (usage: node facemesh.mjs [--models DIR] [--data DIR] [--out FILE])`);
    o[key] = argv[++i];
  }
  return o;
}

async function loadFaceMesh(dir) {
  const file = path.join(dir, 'facemesh.json');
  if (!fs.existsSync(file)) throw new Error(`${file} not found: run scripts/fetch-face-mesh.sh (or pass --models DIR)`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const group = json.weightsManifest[0];
  const bin = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: group.weights, weightData,
    format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, signature: json.signature,
  }));
}

const args = parseArgs(process.argv.slice(2));
await initCpu();
const model = await loadFaceMesh(args.models);
const out = { model: '@vladmandic/human@3.3.6 models/facemesh.json', tfjs: tf.version.tfjs, backend: tf.getBackend(), cases: [] };
for (const [rel, box] of cases) {
  const img = readImage(path.join(args.data, rel));
  const [x0, y0, x1, y1] = box;
  const { w, h } = { w: img.width, h: img.height };
  const result = tf.tidy(() => {
    const image = tf.tensor4d(Float32Array.from(img.rgb), [1, h, w, 3]);
    const crop = tf.image.cropAndResize(image, [[y0 / h, x0 / w, y1 / h, x1 / w]], [0], [192, 192]);
    const input = tf.div(crop, 255);
    const outputs = model.execute(input, ['Identity_2:0', 'Identity_1:0']);
    return { mesh: outputs[0].dataSync(), flag: outputs[1].dataSync()[0], mean: input.mean().dataSync()[0] };
  });
  const size = [x1 - x0, y1 - y0];
  const centre = [x0 + size[0] / 2, y0 + size[1] / 2];
  const points = [];
  for (let i = 0; i < 468; i++) {
    points.push([
      centre[0] + (size[0] / 192) * (result.mesh[3 * i] - 96),
      centre[1] + (size[1] / 192) * (result.mesh[3 * i + 1] - 96),
      result.mesh[3 * i + 2],
    ]);
  }
  // The network's own float32 outputs, each printed as the shortest decimal that reads back as
  // the same float32; the test maps them to the image itself, as described above.
  const f32 = (v) => Number(formatFloat32(v));
  out.cases.push({ image: rel, box, input_mean: f32(result.mean), face_score: f32(result.flag), raw: Array.from(result.mesh, f32) });
  console.error(`${rel}: face score ${result.flag.toFixed(4)}, nose tip (${points[1].map((v) => v.toFixed(2)).join(', ')})`);
}
fs.writeFileSync(args.out, `${JSON.stringify(out)}\n`);
console.error(`wrote ${args.out}`);
