/** Atomic file writes: a reader sees the old file or the new one, never a part. */
import fs from 'node:fs';
import path from 'node:path';
import { describeWriteError } from './file-set.ts';

/** Writes `file` through `file.tmp-PID` + rename; on error the temporary is removed and the error names the file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {} // no temporary was made (its folder is missing or not a folder)
    throw describeWriteError(file, err as NodeJS.ErrnoException);
  }
}
