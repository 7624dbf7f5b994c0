// face-api's own TinyFaceDetector and FaceLandmark68Net on a few images: the reference fixture of
// tsgan's port (tests/fixtures/face_api/pipeline.json, read by
// tests/unit/models/face_pipeline_test.cpp).
//
// Usage: node pipeline.mjs --out FILE [--models DIR] --data DIR [--decoded DIR] IMAGE...
//   IMAGE paths are relative to --data (the shared data folder) and are written as given. With
//   --decoded, the pixels are read from DIR/IMAGE.pnm instead: the images as tsgan decodes them
//   (decode-with-tsgan.cpp), so that both tools see the same pixels.
//   The fixture has:
//    - "raw": the landmark net's 136 raw fc outputs on the synthetic 112x112 image
//      pixel(y, x, c) = (3x + 5y + 7c) mod 256, and the detector's raw [8, 8, 25] output on the
//      same pattern at 256x256 (face-models.md §2.7);
//    - "runs": for each image and each detector setting, face-api's
//      detectAllFaces(image, new TinyFaceDetectorOptions({ inputSize, scoreThreshold }))
//      .withFaceLandmarks(): every face's box (image pixels), score and 68 landmarks, best first.
// face-api is given the decoded RGB image (PNM grey replicated to RGB by lib.mjs) as an int32
// tensor and does all preprocessing itself.
import fs from 'node:fs';
import path from 'node:path';
import { defaultModelDir, faceapi, imageTensor, initCpu, readImage, tf } from './lib.mjs';

// The detector settings of the fixture: face-api's default and a smaller input.
const settings = [
  { inputSize: 416, scoreThreshold: 0.5 },
  { inputSize: 224, scoreThreshold: 0.3 },
];

function parseArgs(argv) {
  const args = { models: defaultModelDir(), data: null, decoded: null, out: null, images: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models' && i + 1 < argv.length) args.models = argv[++i];
    else if (argv[i] === '--data' && i + 1 < argv.length) args.data = argv[++i];
    else if (argv[i] === '--out' && i + 1 < argv.length) args.out = argv[++i];
    else if (argv[i] === '--decoded' && i + 1 < argv.length) args.decoded = argv[++i];
    else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}`);
    else args.images.push(argv[i]);
  }
  if (!args.out || !args.data || args.images.length === 0)
    throw new Error('usage: node pipeline.mjs --out FILE [--models DIR] --data DIR [--decoded DIR] IMAGE...');
  return args;
}

function synthetic(size) {
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) rgb[(y * size + x) * 3 + c] = (3 * x + 5 * y + 7 * c) % 256;
  return { width: size, height: size, rgb };
}

async function loadNets(models) {
  for (const name of ['tiny_face_detector_model', 'face_landmark_68_model']) {
    const manifest = path.join(models, `${name}-weights_manifest.json`);
    if (!fs.existsSync(manifest)) throw new Error(`${manifest} not found: run scripts/fetch-face-models.sh (or pass --models DIR)`);
  }
  await faceapi.nets.tinyFaceDetector.loadFromDisk(models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
}

async function rawOutputs() {
  const lmInput = await faceapi.toNetInput(imageTensor(synthetic(112)));
  const landmarks = Array.from(await faceapi.nets.faceLandmark68Net.runNet(lmInput).data());
  const detInput = await faceapi.toNetInput(imageTensor(synthetic(256)));
  const grid = faceapi.nets.tinyFaceDetector.forwardInput(detInput, 256);
  return { landmarks_fc_112: landmarks, detector_256: { shape: grid.shape, values: Array.from(await grid.data()) } };
}

async function run(file, img, setting) {
  const input = imageTensor(img);
  const results = await faceapi
    .detectAllFaces(input, new faceapi.TinyFaceDetectorOptions(setting))
    .withFaceLandmarks();
  input.dispose();
  return {
    file,
    width: img.width,
    height: img.height,
    input_size: setting.inputSize,
    score_threshold: setting.scoreThreshold,
    faces: results.map((r) => ({
      box: [r.detection.box.x, r.detection.box.y, r.detection.box.width, r.detection.box.height],
      score: r.detection.score,
      landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
    })),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await initCpu();
  await loadNets(args.models);
  const fixture = {
    made_by: 'tools/face-api-crosscheck/pipeline.mjs',
    face_api: '@vladmandic/face-api 1.7.15, @tensorflow/tfjs 4.22.0 cpu backend',
    pixels: args.decoded ? 'decoded by tsgan::io::read_image (decode-with-tsgan.cpp)' : 'decoded by lib.mjs',
    raw: await rawOutputs(),
    runs: [],
  };
  for (const file of args.images) {
    const img = readImage(args.decoded ? path.join(args.decoded, `${file}.pnm`) : path.join(args.data, file));
    for (const setting of settings) fixture.runs.push(await run(file, img, setting));
    const last = fixture.runs.slice(-settings.length).map((r) => r.faces.length).join(', ');
    process.stderr.write(`${file}: ${img.width}x${img.height}, faces per setting: ${last}\n`);
  }
  fs.writeFileSync(args.out, `${JSON.stringify(fixture)}\n`);
}

main().catch((e) => {
  process.stderr.write(`pipeline.mjs: ${e.message}\n`);
  process.exit(1);
});
