/**
 * The Oxford-IIIT Pet data set in its official layout (https://www.robots.ox.ac.uk/~vgg/data/pets/):
 *
 *   root/images/<Name>_<n>.jpg                 (images.tar.gz)
 *   root/annotations/trainval.txt, test.txt    (annotations.tar.gz)
 *
 * A list line is "Abyssinian_100 1 1 1": the image name (no extension), the class id 1..37, the
 * species (1 cat, 2 dog) and the breed id within the species; lines starting with '#' are comments.
 * 'train' is trainval.txt (3,680 images), 'test' is test.txt (3,669); class ids 1..37 become 0..36
 * and a class's name is its images' name without the trailing _<number> ("american_bulldog").
 * Images are decoded and resized with `decodeImages`; `limit` keeps that many images of the split,
 * balanced over classes (`balancedFirst`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_BYTES, checkMemory, decodeImages, type DecodeOptions } from './decode.ts';
import { balancedFirst } from './image-folder.ts';
import type { ImageSet } from './image-set.ts';

export const PETS_CLASSES = 37;
export const PETS_LAYOUT =
  'root/images/<Name>_<n>.jpg and root/annotations/trainval.txt, test.txt (from https://www.robots.ox.ac.uk/~vgg/data/pets/)';
export const PETS_LIST: Record<PetsSplit, string> = { train: 'trainval.txt', test: 'test.txt' };

export type PetsSplit = 'train' | 'test';

export type PetsOptions = DecodeOptions & {
  root: string;
  split: PetsSplit;
  /** Keep this many images of the split, balanced over classes. */
  limit?: number;
};

export interface PetsEntry {
  /** Image name without extension, e.g. "Abyssinian_100". */
  name: string;
  /** Class 0..36 (the file's class id minus 1). */
  label: number;
  /** 1 = cat, 2 = dog. */
  species: number;
  /** Breed id within the species, as in the file. */
  breed: number;
}

/** A class name from an image name: "american_bulldog_10" -> "american_bulldog". */
export function petsClassName(imageName: string): string {
  return imageName.replace(/_\d+$/, '');
}

/** Parses a Pets list file's text; `source` names the file in error messages. */
export function parsePetsList(text: string, source: string): PetsEntry[] {
  const out: PetsEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    const [classId, species, breed] = f.slice(1).map(Number);
    if (f.length !== 4 || ![classId, species, breed].every(Number.isInteger)) {
      throw new Error(`${source}:${i + 1}: expected "NAME CLASS_ID SPECIES BREED_ID", got ${JSON.stringify(line)}`);
    }
    if (classId < 1 || classId > PETS_CLASSES) throw new Error(`${source}:${i + 1}: class id ${classId} is outside 1..${PETS_CLASSES}`);
    if (species !== 1 && species !== 2) throw new Error(`${source}:${i + 1}: species ${species} is neither 1 (cat) nor 2 (dog)`);
    out.push({ name: f[0], label: classId - 1, species, breed });
  });
  if (out.length === 0) throw new Error(`${source}: no entries`);
  return out;
}

/** Reads a list file (error naming it when missing). */
export function readPetsList(path: string): PetsEntry[] {
  if (!existsSync(path)) throw new Error(`${path}: missing; Oxford-IIIT Pets expects ${PETS_LAYOUT}`);
  return parsePetsList(readFileSync(path, 'utf8'), path);
}

/**
 * The 37 class names from the entries of the given lists (the same class id must always carry the
 * same name); a class seen in none of them is named "class_<id>".
 */
export function petsClassNames(lists: { entries: PetsEntry[]; source: string }[]): string[] {
  const names: (string | undefined)[] = Array.from({ length: PETS_CLASSES }, () => undefined);
  for (const { entries, source } of lists) {
    for (const e of entries) {
      const n = petsClassName(e.name);
      const had = names[e.label];
      if (had === undefined) names[e.label] = n;
      else if (had.toLowerCase() !== n.toLowerCase()) {
        throw new Error(`${source}: class id ${e.label + 1} is '${had}' for some images and '${n}' for ${e.name}`);
      }
    }
  }
  return names.map((n, i) => n ?? `class_${i + 1}`);
}

/** Loads one split of Oxford-IIIT Pets as an RGB ImageSet of side `size`. */
export async function loadPets(o: PetsOptions): Promise<ImageSet> {
  if (o.split !== 'train' && o.split !== 'test') throw new Error(`loadPets: split must be 'train' or 'test', got ${String(o.split)}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 0)) {
    throw new Error(`loadPets: limit must be a non-negative integer, got ${o.limit}`);
  }
  if (!existsSync(o.root)) throw new Error(`${o.root}: no such folder; Oxford-IIIT Pets expects ${PETS_LAYOUT}`);
  const listPath = join(o.root, 'annotations', PETS_LIST[o.split]);
  let entries = readPetsList(listPath);
  // Names from both lists when the other one is there, so that train and test agree.
  const otherPath = join(o.root, 'annotations', PETS_LIST[o.split === 'train' ? 'test' : 'train']);
  const lists = [{ entries, source: listPath }];
  if (existsSync(otherPath)) lists.push({ entries: readPetsList(otherPath), source: otherPath });
  const classNames = petsClassNames(lists);
  if (o.limit !== undefined && o.limit < entries.length) {
    const all = entries;
    entries = balancedFirst(
      all.map((e) => e.label),
      o.limit,
    ).map((i) => all[i]);
  }
  const files = entries.map((e) => join(o.root, 'images', `${e.name}.jpg`));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(
      `${missing[0]}: missing (listed in ${listPath}${missing.length > 1 ? `; ${missing.length - 1} more images missing` : ''}); ` +
        `Oxford-IIIT Pets expects ${PETS_LAYOUT}`,
    );
  }
  checkMemory(files.length, o.size, o.maxBytes ?? DEFAULT_MAX_BYTES, o.root, 'a limit');
  const images = await decodeImages(files, o, o.root);
  return {
    name: `pets-${o.split}`,
    images,
    labels: Int32Array.from(entries, (e) => e.label),
    count: files.length,
    height: o.size,
    width: o.size,
    channels: 3,
    numClasses: PETS_CLASSES,
    classNames,
  };
}
