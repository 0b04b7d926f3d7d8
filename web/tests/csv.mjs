// A small CSV reader for the fixture files (header line, then numbers; "nan" allowed).

import { readFileSync } from 'node:fs';

export function readCsv(path) {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',').map((s) => s.trim());
  const rows = lines.slice(1).map((line) => line.split(',').map((s) => s.trim()));
  return { header, rows };
}
