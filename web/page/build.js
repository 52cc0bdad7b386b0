// Builds page/index.html: the library and the page's logic bundled into one inline script,
// so that the page works from file:// with no network. Run from web/: npm run build:page
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('./', import.meta.url);
const result = await build({
  entryPoints: [new URL('app.js', dir).pathname],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'inline',
  write: false,
});
const js = result.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
const html = readFileSync(new URL('template.html', dir), 'utf8').replace('/*BUNDLE*/', () => js);
writeFileSync(new URL('index.html', dir), html);
console.log(`page/index.html: ${html.length} bytes`);
