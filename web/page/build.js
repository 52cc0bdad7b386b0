// Builds page/index.html: the library and the page's logic bundled into one inline script,
// so that the page works from file:// with no network. Run from anywhere:
//   npm run build:page                 (writes page/index.html)
//   node page/build.js <output file>   (writes elsewhere; test/page-current.test.js uses this)
// The output depends only on the sources, template.html and esbuild's version (pinned exactly in
// package.json and the lockfile): no paths, dates or environment go into it, and line endings are
// made "\n" whatever the checkout did, so the committed page can be compared byte for byte.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = new URL('./', import.meta.url);
const result = await build({
  entryPoints: [fileURLToPath(new URL('app.js', dir))],
  absWorkingDir: fileURLToPath(new URL('..', dir)),
  bundle: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  charset: 'ascii',
  minify: true,
  legalComments: 'inline',
  sourcemap: false,
  metafile: false,
  logLevel: 'warning',
  write: false,
});
const js = result.outputFiles[0].text.replace(/\r\n/g, '\n').replace(/<\/script/gi, '<\\/script');
const template = readFileSync(new URL('template.html', dir), 'utf8').replace(/\r\n/g, '\n');
if (template.split('/*BUNDLE*/').length !== 2) throw new Error('template.html must hold /*BUNDLE*/ exactly once');
const html = template.replace('/*BUNDLE*/', () => js);
const out = process.argv[2] ?? fileURLToPath(new URL('index.html', dir));
writeFileSync(out, html);
console.log(`${out}: ${Buffer.byteLength(html)} bytes`);
