/** Writes an unsigned-byte IDX file (the Fashion-MNIST format) with the given dimensions. */
import { writeFileSync } from 'node:fs';

export function writeIdx(file: string, dims: number[], data: Uint8Array): void {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2); // unsigned byte
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  writeFileSync(file, Buffer.concat([header, data]));
}
