/** Types of the `crc-32` package's CRC-32C module (the package types its CRC-32 module only). */
declare module 'crc-32/crc32c' {
  export function buf(data: number[] | Uint8Array, seed?: number): number;
  export function str(data: string, seed?: number): number;
}
