// Face descriptors from face-api's own FaceRecognitionNet, one line per image on stdout:
//   path v1 v2 ... v128
// the format tsgan's C++ embedding tool prints, so the two files can be compared with compare.py.
//
// Usage: node embed.mjs [--models DIR] [--crop center | --crop X,Y,W,H] IMAGE...
//   --models  the folder of face_recognition_model{.bin,-weights_manifest.json}
//             (default $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models)
//   --crop center  the fixed LFW centre crop (126x126 at 62,62 of 250x250; see lib.mjs)
//   --crop X,Y,W,H an explicit rectangle (clipped to the image)
// Without --crop the whole image is the face crop. Either way face-api then pads it to a square,
// resizes it to 150x150 and normalises it (docs/face-models.md).
import { centerCrop, crop, defaultModelDir, descriptorLine, imageTensor, initCpu, loadRecognizer,
  readImage } from './lib.mjs';

const usage = 'usage: node embed.mjs [--models DIR] [--crop center | --crop X,Y,W,H] IMAGE...';

function parseArgs(argv) {
  const args = { models: defaultModelDir(), crop: null, images: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--models' || a === '--crop') {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${usage}`);
      const v = argv[++i];
      if (a === '--models') {
        args.models = v;
      } else if (v === 'center') {
        args.crop = centerCrop;
      } else {
        const r = v.split(',').map(Number);
        if (r.length !== 4 || !r.every(Number.isInteger) || r[2] <= 0 || r[3] <= 0) {
          throw new Error(`--crop wants 'center' or X,Y,W,H (integers, W and H > 0), not '${v}'`);
        }
        args.crop = (img) => crop(img, ...r);
      }
    } else if (a === '-h' || a === '--help') {
      console.log(usage);
      process.exit(0);
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option ${a}\n${usage}`);
    } else {
      args.images.push(a);
    }
  }
  if (args.images.length === 0) throw new Error(usage);
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await initCpu();
  const net = await loadRecognizer(args.models);
  for (const file of args.images) {
    let img = readImage(file);
    if (args.crop) img = args.crop(img);
    const input = imageTensor(img);
    const descriptor = await net.computeFaceDescriptor(input);
    input.dispose();
    console.log(descriptorLine(file, descriptor));
  }
}

main().catch((e) => {
  console.error(`embed.mjs: ${e.message}`);
  process.exit(1);
});
