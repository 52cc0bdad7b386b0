// Reads the golden vectors of the repository (../tests/vectors relative to web/), with the strict
// JSON reader: the subject-index vectors hold 64-bit integers that JSON.parse would round.
import { readFileSync } from 'node:fs';
import { parseJson } from '../src/json.js';

const root = new URL('../../tests/vectors/', import.meta.url);
export const loadVector = (name) => parseJson(readFileSync(new URL(name, root), 'utf8'), name);
