// The TF.js reference for Membrane's nsfwjs import: classifies PNG files with the nsfwjs package's own code
// (load, then classify: RGB / 255, bilinear resize with align corners, the Layers model) on the TF.js CPU backend,
// and prints one JSON line per image with the five scores in the model's class order.
//
//   node nsfwjs-reference.cjs MobileNetV2|InceptionV3 IMAGE.png...
//
// Needs, resolvable from NODE_PATH or beside it: nsfwjs (the package under test), @tensorflow/tfjs, pngjs.
'use strict';
const fs = require('fs');
const tf = require('@tensorflow/tfjs');
const nsfwjs = require('nsfwjs');
const { PNG } = require('pngjs');

function rgbTensor(file) {
  const png = PNG.sync.read(fs.readFileSync(file), { colorType: 2, inputHasAlpha: false });
  // pngjs decodes to RGBA (gray and palettes expanded, alpha dropped as fromPixels drops it)
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
    rgb[j] = png.data[i]; rgb[j + 1] = png.data[i + 1]; rgb[j + 2] = png.data[i + 2];
  }
  return tf.tensor3d(rgb, [png.height, png.width, 3], 'int32');
}

async function main() {
  const [modelName, ...files] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const model = await nsfwjs.load(modelName);
  for (const file of files) {
    const img = rgbTensor(file);
    const scores = await model.infer(img).data();
    img.dispose();
    const labels = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
    const out = {};
    labels.forEach((l, i) => { out[l] = scores[i]; });
    process.stdout.write(JSON.stringify({ file, model: modelName, scores: out }) + '\n');
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
