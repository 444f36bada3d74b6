// Draws images/icon.png, the extension's 128x128 Marketplace icon: three stacked layers (a Databricks-like stack)
// on a rounded red tile, and tasks/databricks/icon.png, the same at 32x32 for the task lists of the pipeline editors
// (an icon.png of 32x32 pixels beside task.json: Microsoft's "Integrate custom build pipeline tasks with extensions"
// docs page). Pixels are computed here and written with zlib, so the icons are reproducible without an image editor
// or network access: `node scripts/icon.mjs`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const TILE = [0xe0, 0x3c, 0x31]; // red-orange
const WHITE = [0xff, 0xff, 0xff];
const SHADE = [0xff, 0xd2, 0xc8];

/** Coverage (0..1) of pixel (x, y) by a rounded square inset by `inset` with corner radius `r`. */
function roundedSquare(x, y, inset, r) {
  const lo = inset + r;
  const hi = SIZE - inset - r;
  const dx = Math.max(lo - x, 0, x - hi);
  const dy = Math.max(lo - y, 0, y - hi);
  return Math.min(1, Math.max(0, r + 0.5 - Math.hypot(dx, dy)));
}

/** Coverage of a flat diamond ("layer") centred at (cx, cy): |x|/w + |y|/h <= 1, `thickness` pixels thick. */
function layer(x, y, cx, cy, w, h, thickness) {
  const d = Math.abs(x - cx) / w + Math.abs(y - cy) / h;
  const edge = Math.abs(d - 1) * Math.min(w, h);
  return Math.min(1, Math.max(0, thickness / 2 + 0.5 - edge));
}

function pixel(x, y) {
  const tile = roundedSquare(x + 0.5, y + 0.5, 4, 22);
  let colour = TILE;
  let ink = 0;
  for (const [cy, shade] of [
    [78, SHADE],
    [62, SHADE],
    [46, WHITE],
  ]) {
    const cover = layer(x + 0.5, y + 0.5, 64, cy, 38, 17, 7);
    if (cover > ink) {
      ink = cover;
      colour = shade;
    }
  }
  const mix = (a, b, t) => Math.round(a + (b - a) * t);
  const rgb = TILE.map((c, i) => mix(c, colour[i], ink));
  return [...rgb, Math.round(255 * tile)];
}

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** Pixel (x, y) of the icon at `size` (a divisor of SIZE): the average of the SIZE-pixel drawing's block. */
function scaledPixel(x, y, size) {
  const n = SIZE / size;
  const sum = [0, 0, 0, 0];
  for (let dy = 0; dy < n; dy++) {
    for (let dx = 0; dx < n; dx++) {
      const [r, g, b, a] = pixel(x * n + dx, y * n + dy);
      [r * a, g * a, b * a, a].forEach((value, i) => (sum[i] += value));
    }
  }
  const alpha = sum[3];
  const rgb = sum.slice(0, 3).map((value) => (alpha ? Math.round(value / alpha) : 0));
  return [...rgb, Math.round(alpha / (n * n))];
}

/** The icon as PNG bytes, `size` pixels square (SIZE or a divisor of it). */
export function iconPng(size = SIZE) {
  if (SIZE % size !== 0) {
    throw new Error(`the icon is drawn at ${SIZE} px: ${size} does not divide it`);
  }
  const at = size === SIZE ? pixel : (/** @type {number} */ x, /** @type {number} */ y) => scaledPixel(x, y, size);
  const rows = [];
  for (let y = 0; y < size; y++) {
    rows.push(Buffer.from([0, ...Array.from({ length: size }, (_, x) => at(x, y)).flat()]));
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The icons this script writes, by path from the repository root, and their size. */
export const ICONS = { 'images/icon.png': SIZE, 'tasks/databricks/icon.png': 32 };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, size] of Object.entries(ICONS)) {
    const target = join(dirname(fileURLToPath(import.meta.url)), '..', path);
    writeFileSync(target, iconPng(size));
    console.log(`wrote ${target}`);
  }
}
