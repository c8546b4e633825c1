import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ConfigError } from '@bilevel/core';

/** A grayscale image with values in [0, 1], row-major. */
export interface GrayImage {
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
  readonly name?: string;
}

/** Decodes a PNG to grayscale [0, 1] (ITU-R 601 luma for colour: 0.299 R + 0.587 G + 0.114 B). */
export function decodePng(buffer: Buffer, name?: string): GrayImage {
  const png = PNG.sync.read(buffer);
  const { width, height, data } = png;
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    out[i] = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
  }
  return { height, width, data: out, name };
}

/** Encodes a [0, 1] grayscale image (clipped) as an 8-bit PNG. */
export function encodePng(img: GrayImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.data.length; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, img.data[i])));
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** The PNG files of a folder, sorted by name; `path` names the config field for errors. */
export function listPngs(folder: string, path = 'path'): string[] {
  let entries: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a directory');
    entries = readdirSync(folder);
  } catch {
    throw new ConfigError(path, `folder "${folder}" does not exist or is not readable`, 'point it at a folder of PNG images (relative paths resolve from the config file)');
  }
  const files = entries.filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (files.length === 0) throw new ConfigError(path, `folder "${folder}" has no .png files`, 'point it at a folder of PNG images');
  return files.map((f) => join(folder, f));
}

/** Reads a PNG; an unreadable or corrupt file is a ConfigError on `path`. */
export function loadPng(file: string, path = 'path'): GrayImage {
  try {
    return decodePng(readFileSync(file), file);
  } catch (e) {
    throw new ConfigError(path, `cannot decode "${file}" as PNG (${(e as Error).message})`, 'replace or remove the file');
  }
}
