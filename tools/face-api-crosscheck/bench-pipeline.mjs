// Faces per second of face-api's own TinyFaceDetector (input 416) and FaceLandmark68Net on one
// image, on tfjs's pure-JavaScript CPU backend (single-threaded): the reference figures beside
// tsgan's bench/bench_face_pipeline.cpp (docs/performance.md).
//
// Usage: node bench-pipeline.mjs [--models DIR] [--seconds S] IMAGE
//   detection: faceapi.detectAllFaces(image, new TinyFaceDetectorOptions({ inputSize: 416 }))
//   landmarks: faceLandmark68Net.detectLandmarks on the first detected face's crop
//   (extractFaceTensors, as withFaceLandmarks() does), crop included.
import { defaultModelDir, faceapi, imageTensor, initCpu, readImage } from './lib.mjs';

function parseArgs(argv) {
  const args = { models: defaultModelDir(), seconds: 5, image: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models' && i + 1 < argv.length) args.models = argv[++i];
    else if (argv[i] === '--seconds' && i + 1 < argv.length) args.seconds = Number(argv[++i]);
    else if (argv[i].startsWith('--')) throw new Error(`unknown option ${argv[i]}`);
    else args.image = argv[i];
  }
  if (!args.image) throw new Error('usage: node bench-pipeline.mjs [--models DIR] [--seconds S] IMAGE');
  return args;
}

// Runs fn until `seconds` have passed (after two warm-up calls); returns calls per second of wall
// time and of the process's CPU time (the better guide on a shared machine).
async function rate(fn, seconds) {
  await fn();
  await fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < seconds) {
    await fn();
    calls += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: calls / elapsed, cpu: calls / ((cpu.user + cpu.system) / 1e6) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await initCpu();
  await faceapi.nets.tinyFaceDetector.loadFromDisk(args.models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(args.models);
  const input = imageTensor(readImage(args.image));
  const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
  const detections = await faceapi.detectAllFaces(input, options);
  if (detections.length === 0) throw new Error(`${args.image}: no face found`);
  const detect = await rate(() => faceapi.detectAllFaces(input, options), args.seconds);
  const landmarks = await rate(async () => {
    const [face] = await faceapi.extractFaceTensors(input, [detections[0]]);
    await faceapi.nets.faceLandmark68Net.detectLandmarks(face);
    face.dispose();
  }, args.seconds);
  const f = (r) => `${r.wall.toFixed(2)} faces/s wall, ${r.cpu.toFixed(2)} faces/s of CPU time`;
  console.log(`face-api tfjs-cpu: detection ${f(detect)}; landmarks ${f(landmarks)}`);
}

main().catch((e) => {
  process.stderr.write(`bench-pipeline.mjs: ${e.message}\n`);
  process.exit(1);
});
