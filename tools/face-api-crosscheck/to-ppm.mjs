// Decodes images once and writes them as binary PPM (P6), so that face-api and tsgan are given the
// very same pixels (JPEG decoders disagree by a few grey levels; see README.md).
//
// Usage: node to-ppm.mjs OUTDIR [--crop X,Y,W,H] IMAGE...
//   Writes OUTDIR/<name>.ppm per image (name: the file name without its extension, plus
//   _XxYxWxH when cropped). --crop applies to the images after it; it is clipped to each image.
//   `--synthetic SIZE` writes synthetic_SIZE.ppm: pixel(y, x, c) = (3x + 5y + 7c) mod 256.
// Prints the paths written, one per line.
import fs from 'node:fs';
import path from 'node:path';
import { crop, readImage } from './lib.mjs';

function writePpm(file, img) {
  const header = Buffer.from(`P6\n${img.width} ${img.height}\n255\n`, 'latin1');
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(img.rgb)]));
  console.log(file);
}

function synthetic(size) {
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) rgb[(y * size + x) * 3 + c] = (3 * x + 5 * y + 7 * c) % 256;
  return { width: size, height: size, rgb };
}

function main() {
  const [outDir, ...args] = process.argv.slice(2);
  if (!outDir || args.length === 0) {
    throw new Error('usage: node to-ppm.mjs OUTDIR [--synthetic SIZE] [--crop X,Y,W,H] IMAGE...');
  }
  fs.mkdirSync(outDir, { recursive: true });
  let rect = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--synthetic') {
      const size = Number(args[++i]);
      if (!Number.isInteger(size) || size <= 0) throw new Error('--synthetic wants a positive size');
      writePpm(path.join(outDir, `synthetic_${size}.ppm`), synthetic(size));
    } else if (a === '--crop') {
      const r = (args[++i] ?? '').split(',').map(Number);
      if (r.length !== 4 || !r.every(Number.isInteger) || r[2] <= 0 || r[3] <= 0) {
        throw new Error(`--crop wants X,Y,W,H (integers, W and H > 0)`);
      }
      rect = r;
    } else {
      let img = readImage(a);
      let name = path.basename(a, path.extname(a));
      if (rect) {
        img = crop(img, ...rect);
        name += `_${rect.join('x')}`;
      }
      writePpm(path.join(outDir, `${name}.ppm`), img);
    }
  }
}

try {
  main();
} catch (e) {
  console.error(`to-ppm.mjs: ${e.message}`);
  process.exit(1);
}
