// Reproduces the golden descriptor of docs/face-models.md (and the team's verified spec §2.7) with
// face-api's own FaceRecognitionNet, which shows that this folder's reference setup (package
// versions, backend, model files) is the one the spec was verified with.
//
// Usage: node golden.mjs [--models DIR]      exit status 0 when max |diff| < 1e-5
import { defaultModelDir, descriptorLine, imageTensor, initCpu, loadRecognizer, tf } from './lib.mjs';

// tfjs 4.22 CPU output for pixel(y, x, c) = (3x + 5y + 7c) mod 256, 150x150 RGB (6 decimals).
const documented = [
  -0.053252, 0.099460, 0.069715, -0.041478, -0.068273, -0.066222, -0.081219, -0.013668,
  0.096757, -0.033202, 0.237896, -0.014915, -0.253778, -0.049717, -0.008833, 0.080883,
  -0.152013, -0.053119, -0.131154, -0.120074, 0.067639, -0.018016, 0.001866, 0.025101,
  -0.136682, -0.289812, -0.099256, -0.096746, 0.066727, -0.155365, -0.000230, 0.017452,
  -0.176296, -0.038380, -0.009520, 0.032937, -0.041984, -0.108339, 0.170966, -0.046081,
  -0.140606, -0.020655, 0.018939, 0.233541, 0.223019, 0.046487, 0.032059, -0.056878,
  0.055880, -0.262657, 0.024794, 0.218495, 0.039197, 0.130437, 0.073933, -0.168746,
  0.025249, 0.116759, -0.095204, 0.025669, -0.003414, -0.100433, -0.026733, -0.133193,
  0.192253, 0.072578, -0.122045, -0.129689, 0.120953, -0.171097, -0.038624, 0.093406,
  -0.131052, -0.186293, -0.262159, 0.094823, 0.386081, 0.211884, -0.178763, 0.025209,
  -0.110721, -0.065859, 0.023733, 0.053615, -0.091345, -0.003164, -0.084007, 0.085662,
  0.202199, -0.072744, 0.039662, 0.201592, -0.032468, 0.036109, -0.017157, 0.003535,
  -0.129444, 0.015798, -0.060646, 0.009869, 0.115248, -0.137412, 0.012924, 0.125349,
  -0.159470, 0.113178, -0.009111, -0.042180, 0.005685, 0.006696, -0.080148, -0.052239,
  0.205651, -0.216094, 0.229274, 0.244360, 0.052282, 0.125455, 0.086013, 0.137651,
  -0.036053, -0.039210, -0.140073, -0.034504, 0.015117, -0.006575, -0.010076, -0.025255,
];
const documentedNorm = 1.353538;
const tolerance = 1e-5;

function parseArgs(argv) {
  let models = defaultModelDir();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--models' && i + 1 < argv.length) models = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: node golden.mjs [--models DIR])`);
  }
  return { models };
}

function syntheticImage(size = 150) {
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) rgb[(y * size + x) * 3 + c] = (3 * x + 5 * y + 7 * c) % 256;
  return { width: size, height: size, rgb };
}

async function main() {
  const { models } = parseArgs(process.argv.slice(2));
  await initCpu();
  const net = await loadRecognizer(models);
  const input = imageTensor(syntheticImage());
  const got = await net.computeFaceDescriptor(input);
  input.dispose();

  let maxDiff = 0;
  let worst = 0;
  let norm = 0;
  for (let i = 0; i < 128; i++) {
    const d = Math.abs(got[i] - documented[i]);
    if (d > maxDiff) [maxDiff, worst] = [d, i];
    norm += got[i] * got[i];
  }
  norm = Math.sqrt(norm);
  console.log(descriptorLine('synthetic(3x+5y+7c)', got));
  console.log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`);
  console.log(`max |diff| vs documented vector: ${maxDiff.toExponential(3)} (element ${worst}), ` +
              `L2 norm ${norm.toFixed(6)} (documented ${documentedNorm})`);
  if (!(maxDiff < tolerance)) {
    console.error(`FAIL: max |diff| ${maxDiff} is not below ${tolerance}`);
    process.exit(1);
  }
  console.log(`OK: within ${tolerance}`);
}

main().catch((e) => {
  console.error(`golden.mjs: ${e.message}`);
  process.exit(1);
});
