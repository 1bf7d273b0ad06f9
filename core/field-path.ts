/**
 * Field paths in messages, written one way: as `--set` takes them (`optimizer.batch`), with array
 * elements indexed (`cells[2].config.pooling`). JSON pointers (ajv's `instancePath`) are
 * converted; the empty pointer is the file's top level.
 */
export function fieldPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(top level)';
  return pointer
    .replace(/^\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}
