/** Map `length` bytes of `fd` at `offset` (a multiple of pageSize) with MAP_SHARED. */
export function map(fd: number, length: number, offset?: number, writable?: boolean): ArrayBuffer;
/** Detach a mapping returned by map(); its memory is unmapped on the next event-loop turn. */
export function unmap(mapping: ArrayBuffer): void;
export const pageSize: number;
