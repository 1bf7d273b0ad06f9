import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { flowers102Image, loadFlowers102, readFlowers102Split } from '../data/flowers102.ts';
import { loadPets, parsePetsList, petsClassName } from '../data/pets.ts';
import { checkImageSet } from '../data/image-set.ts';
import { cifar10Source, flowers102Source, pathNeeded, petsSource, DATASET_SOURCES } from '../data/sources.ts';
import { resolveDataset } from '../runner/datasets.ts';
import type { DataConfig } from '../core/config.ts';
import { matFile } from './helpers/mat-writer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sslbench-flowers-pets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A distinct colour per image number. */
const colorOf = (i: number): [number, number, number] => [(i * 40) % 256, 255 - ((i * 40) % 256), (i * 90) % 256];

async function jpeg(path: string, c: [number, number, number], w = 10, h = 8): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: c[0], g: c[1], b: c[2] } } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toFile(path);
}

/** Centre pixel of image n is within 3 levels of colour c. */
function assertColor(images: Float32Array, size: number, n: number, c: number[], what: string): void {
  const o = ((n * size + (size >> 1)) * size + (size >> 1)) * 3;
  const got = [images[o], images[o + 1], images[o + 2]].map((v) => Math.round(v * 255));
  got.forEach((g, k) => {
    assert.ok(Math.abs(g - c[k]) <= 3, `${what}: got ${got}, want ${c}`);
  });
}

// Flowers-102 fixture: 12 images; labels (1-based classes) of images 1..12; the three id lists.
const FLOWER_LABELS = [77, 5, 102, 77, 5, 102, 1, 77, 5, 102, 1, 1];
const TRNID = [1, 5, 9];
const VALID = [2, 6, 10];
const TSTID = [3, 4, 7, 8, 11, 12];

async function makeFlowers(root: string, o: { compress?: boolean } = {}): Promise<void> {
  for (let i = 1; i <= FLOWER_LABELS.length; i++) await jpeg(flowers102Image(root, i), colorOf(i));
  writeFileSync(
    join(root, 'imagelabels.mat'),
    matFile([{ name: 'labels', cls: 'double', dims: [1, 12], storage: 'uint8', vals: FLOWER_LABELS }], o),
  );
  writeFileSync(
    join(root, 'setid.mat'),
    matFile(
      [
        { name: 'trnid', cls: 'uint16', dims: [1, 3], storage: 'uint16', vals: TRNID },
        { name: 'valid', cls: 'uint16', dims: [1, 3], storage: 'uint16', vals: VALID },
        { name: 'tstid', cls: 'double', dims: [1, 6], storage: 'double', vals: TSTID },
      ],
      { compress: true },
    ),
  );
}

test('flowers102: train = trnid + valid, test = tstid; labels 1..102 -> 0..101; images by id', async () => {
  const root = join(tmp, 'flowers');
  await makeFlowers(root);
  assert.equal(flowers102Image(root, 7), join(root, 'jpg', 'image_00007.jpg'));
  const ids = readFlowers102Split(root, 'train');
  assert.deepEqual(ids.ids, [1, 5, 9, 2, 6, 10]);
  assert.deepEqual([...ids.labels], [76, 4, 4, 4, 101, 101]);
  const train = checkImageSet(await loadFlowers102({ root, split: 'train', size: 6 }));
  assert.deepEqual(
    [train.name, train.count, train.height, train.width, train.channels, train.numClasses],
    ['flowers102-train', 6, 6, 6, 3, 102],
  );
  assert.deepEqual([...train.labels], [76, 4, 4, 4, 101, 101]);
  ids.ids.forEach((id, n) => {
    assertColor(train.images, 6, n, colorOf(id), `train image ${n} (id ${id})`);
  });
  const testSet = checkImageSet(await loadFlowers102({ root, split: 'test', size: 4 }));
  assert.equal(testSet.count, 6);
  assert.deepEqual(
    [...testSet.labels],
    TSTID.map((id) => FLOWER_LABELS[id - 1] - 1),
  );
  TSTID.forEach((id, n) => {
    assertColor(testSet.images, 4, n, colorOf(id), `test image ${n} (id ${id})`);
  });
  // A limit balanced over classes: classes 0, 76, 101 in tstid order 3(102) 4(77) 7(1) 8(77) 11(1) 12(1).
  const lim = await loadFlowers102({ root, split: 'test', size: 4, limit: 3 });
  assert.deepEqual([...lim.labels], [101, 76, 0]);
});

test('flowers102: errors name the missing or bad file', async () => {
  const root = join(tmp, 'flowers-bad');
  await makeFlowers(root, { compress: true });
  assert.equal(readFlowers102Split(root, 'test').ids.length, 6); // compressed imagelabels.mat reads too
  rmSync(join(root, 'jpg', 'image_00009.jpg'));
  await assert.rejects(loadFlowers102({ root, split: 'train', size: 4 }), (e: Error) =>
    e.message.startsWith(
      `${join(root, 'jpg', 'image_00009.jpg')}: missing; Oxford Flowers-102 expects root/jpg/image_NNNNN.jpg, ` +
        `root/imagelabels.mat, ` +
        `root/setid.mat`,
    ),
  );
  writeFileSync(join(root, 'jpg', 'image_00009.jpg'), 'not a jpeg');
  await assert.rejects(loadFlowers102({ root, split: 'train', size: 4 }), (e: Error) =>
    e.message.startsWith(`${join(root, 'jpg', 'image_00009.jpg')}: cannot decode image:`),
  );
  writeFileSync(join(root, 'setid.mat'), matFile([{ name: 'trnid', cls: 'double', dims: [1, 2], storage: 'double', vals: [1, 13] }]));
  assert.throws(() => readFlowers102Split(root, 'train'), {
    message: `${join(root, 'setid.mat')}: trnid holds image id 13, outside 1..12 (the images in imagelabels.mat)`,
  });
  assert.throws(() => readFlowers102Split(root, 'test'), {
    message: `${join(root, 'setid.mat')}: no numeric variable 'tstid' (has 'trnid')`,
  });
  writeFileSync(
    join(root, 'imagelabels.mat'),
    matFile([{ name: 'labels', cls: 'double', dims: [1, 2], storage: 'double', vals: [1, 103] }]),
  );
  assert.throws(() => readFlowers102Split(root, 'train'), {
    message: `${join(root, 'imagelabels.mat')}: labels(2) = 103 is not a class in 1..102`,
  });
  rmSync(join(root, 'setid.mat'));
  assert.throws(
    () => readFlowers102Split(root, 'train'),
    (e: Error) => e.message.startsWith(`${join(root, 'setid.mat')}: missing; Oxford Flowers-102 expects`),
  );
  await assert.rejects(loadFlowers102({ root: join(tmp, 'nowhere'), split: 'train', size: 4 }), (e: Error) =>
    e.message.startsWith(`${join(tmp, 'nowhere')}: no such folder; Oxford Flowers-102 expects`),
  );
});

// Pets fixture: the official list format, comment lines included.
const TRAINVAL = `#Image CLASS-ID SPECIES BREED ID
#ID: 1:37 Class ids
#SPECIES: 1:Cat 2:Dog
Abyssinian_100 1 1 1
american_bulldog_10 2 2 1
Abyssinian_101 1 1 1
yorkshire_terrier_1 37 2 25
`;
const TEST_LIST = 'Abyssinian_1 1 1 1\r\namerican_bulldog_100 2 2 1\r\n';
const PET_IMAGES = [
  'Abyssinian_100',
  'american_bulldog_10',
  'Abyssinian_101',
  'yorkshire_terrier_1',
  'Abyssinian_1',
  'american_bulldog_100',
];

async function makePets(root: string): Promise<void> {
  for (const [i, name] of PET_IMAGES.entries()) await jpeg(join(root, 'images', `${name}.jpg`), colorOf(i), 12, 9);
  mkdirSync(join(root, 'annotations'), { recursive: true });
  writeFileSync(join(root, 'annotations', 'trainval.txt'), TRAINVAL);
  writeFileSync(join(root, 'annotations', 'test.txt'), TEST_LIST);
}

test('pets: list lines parse (comments skipped), class names strip _<number>', () => {
  const e = parsePetsList(TRAINVAL, 'trainval.txt');
  assert.deepEqual(e, [
    { name: 'Abyssinian_100', label: 0, species: 1, breed: 1 },
    { name: 'american_bulldog_10', label: 1, species: 2, breed: 1 },
    { name: 'Abyssinian_101', label: 0, species: 1, breed: 1 },
    { name: 'yorkshire_terrier_1', label: 36, species: 2, breed: 25 },
  ]);
  assert.equal(petsClassName('great_pyrenees_173'), 'great_pyrenees');
  assert.equal(petsClassName('British_Shorthair_27'), 'British_Shorthair');
  assert.throws(() => parsePetsList('Abyssinian_1 1 1\n', 'l.txt'), {
    message: 'l.txt:1: expected "NAME CLASS_ID SPECIES BREED_ID", got "Abyssinian_1 1 1"',
  });
  assert.throws(() => parsePetsList('#c\nAbyssinian_1 38 1 1\n', 'l.txt'), { message: 'l.txt:2: class id 38 is outside 1..37' });
  assert.throws(() => parsePetsList('x_1 1 3 1\n', 'l.txt'), { message: 'l.txt:1: species 3 is neither 1 (cat) nor 2 (dog)' });
  assert.throws(() => parsePetsList('#only a comment\n', 'l.txt'), { message: 'l.txt: no entries' });
});

test('pets: train = trainval.txt, test = test.txt; 37 classes; images by name', async () => {
  const root = join(tmp, 'pets');
  await makePets(root);
  const train = checkImageSet(await loadPets({ root, split: 'train', size: 5 }));
  assert.deepEqual([train.name, train.count, train.numClasses, train.channels], ['pets-train', 4, 37, 3]);
  assert.deepEqual([...train.labels], [0, 1, 0, 36]);
  assert.deepEqual(train.classNames!.slice(0, 3), ['Abyssinian', 'american_bulldog', 'class_3']);
  assert.equal(train.classNames![36], 'yorkshire_terrier');
  for (let n = 0; n < 4; n++) assertColor(train.images, 5, n, colorOf(n), `train ${PET_IMAGES[n]}`);
  const testSet = checkImageSet(await loadPets({ root, split: 'test', size: 5 }));
  assert.deepEqual([...testSet.labels], [0, 1]);
  assert.deepEqual(testSet.classNames, train.classNames);
  assertColor(testSet.images, 5, 1, colorOf(5), 'test american_bulldog_100');
  const lim = await loadPets({ root, split: 'train', size: 5, limit: 3 });
  assert.deepEqual([...lim.labels], [0, 1, 36]);
});

test('pets: errors name the missing file', async () => {
  const root = join(tmp, 'pets-bad');
  await makePets(root);
  rmSync(join(root, 'images', 'Abyssinian_101.jpg'));
  await assert.rejects(loadPets({ root, split: 'train', size: 4 }), (e: Error) =>
    e.message.startsWith(
      `${join(root, 'images', 'Abyssinian_101.jpg')}: missing (listed in ${join(root, 'annotations', 'trainval.txt')}); ` +
        `Oxford-IIIT ` +
        `Pets expects`,
    ),
  );
  rmSync(join(root, 'annotations', 'test.txt'));
  await assert.rejects(loadPets({ root, split: 'test', size: 4 }), (e: Error) =>
    e.message.startsWith(`${join(root, 'annotations', 'test.txt')}: missing; Oxford-IIIT Pets expects root/images/<Name>_<n>.jpg`),
  );
  writeFileSync(join(root, 'annotations', 'trainval.txt'), `${TRAINVAL}Abyssinian_7 2 1 1\n`);
  await assert.rejects(loadPets({ root, split: 'train', size: 4 }), {
    message:
      `${join(root, 'annotations', 'trainval.txt')}: class id 2 is 'american_bulldog' for some images and 'Abyssinian' for ` +
      `Abyssinian_7`,
  });
});

test('sources: cifar10, cifar100, flowers102 and pets are registered and load from --data', async () => {
  assert.deepEqual(
    DATASET_SOURCES.map((s) => s.name),
    ['synthetic', 'fashion-mnist', 'imagenet', 'cifar10', 'cifar100', 'flowers102', 'pets'],
  );
  const base: Omit<DataConfig, 'dataset'> = { viewSize: 6, evalCropFraction: 0.75 };
  const flowers = join(tmp, 'src-flowers');
  await makeFlowers(flowers);
  const fl = await flowers102Source.load({ ...base, dataset: 'flowers102', path: flowers }, 0);
  // Decoded at round(6 / 0.75) = 8.
  assert.deepEqual([fl.train.count, fl.test.count, fl.train.height, fl.train.numClasses], [6, 6, 8, 102]);
  const pets = join(tmp, 'src-pets');
  await makePets(pets);
  const pe = await petsSource.load({ ...base, dataset: 'pets', path: pets, trainCount: 2, testCount: 1 }, 0);
  assert.deepEqual([pe.train.count, pe.test.count, pe.train.height, pe.train.numClasses], [2, 1, 8, 37]);
  const cifar = join(tmp, 'src-cifar', 'cifar-10-batches-bin');
  mkdirSync(cifar, { recursive: true });
  const rec = (l: number): Buffer => Buffer.concat([Buffer.from([l]), Buffer.alloc(3072, 128)]);
  for (let b = 1; b <= 5; b++) writeFileSync(join(cifar, `data_batch_${b}.bin`), Buffer.concat([rec(b), rec(b + 1)]));
  writeFileSync(join(cifar, 'test_batch.bin'), rec(0));
  const c10 = await cifar10Source.load({ ...base, dataset: 'cifar10', path: dirname(cifar), trainCount: 3 }, 0);
  assert.deepEqual([c10.train.count, c10.test.count, c10.train.height], [3, 1, 32]);
  assert.deepEqual([...c10.train.labels], [1, 2, 2]);
  for (const name of ['cifar10', 'cifar100', 'flowers102', 'pets'] as const) {
    const d: DataConfig = { ...base, dataset: name };
    const source = DATASET_SOURCES.find((s) => s.name === name)!;
    // the error names the layout the descriptor's transfer section gives
    const message = pathNeeded(name, source.transfer!.layout);
    assert.equal(source.missingPath, message);
    assert.throws(() => resolveDataset(d), { message });
    await assert.rejects(async () => source.load(d, 0), { message });
  }
  assert.match(
    flowers102Source.missingPath!,
    /^data\.path: dataset 'flowers102' needs --data PATH to the Oxford Flowers-102 folder: root\//,
  );
  assert.match(flowers102Source.missingPath!, /folder: root\/jpg\/image_NNNNN\.jpg, root\/imagelabels\.mat, root\/setid\.mat/);
  assert.match(
    DATASET_SOURCES.find((s) => s.name === 'cifar100')!.missingPath!,
    /cifar-100-binary\/ \(train\.bin, test\.bin\) or its parent/,
  );
});
