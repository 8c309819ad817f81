import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { moduleName, type PageInfo, pageFields, projectName } from './fields.js';

/** The module a project gets when the request names none. */
export const DEFAULT_MODULE = 'app';

/** RAM (MB) reserved for each module unless the request says otherwise. */
export const DEFAULT_MIN_RAM_MB = 256;

/** Free disk (MB) a server needs unless the request says otherwise. */
export const DEFAULT_MIN_DISK_MB = 1024;

/** Bounds of the RAM (MB) a request may ask each module to reserve. */
export const RAM_MB_BOUNDS = { min: 0, max: 1_000_000 } as const;

/** Bounds of the free disk (MB) a request may ask a server to have. */
export const DISK_MB_BOUNDS = { min: 0, max: 100_000_000 } as const;

/** First port handed out on every server. */
export const FIRST_ALLOCATED_PORT = 8000;

/** Why an existing allocation needs attention. */
export type AllocationFlag = 'server-missing' | 'server-unreachable';

/** One module's place: its server and port. */
export interface Allocation {
  readonly project: string;
  readonly module: string;
  readonly server: string;
  readonly port: number;
  /** RAM reserved for this module on its server. */
  readonly ramMb: number;
  readonly createdAt: string;
  /** Empty when all is well; `server-missing` when the provider no longer lists the server. */
  readonly flags: readonly AllocationFlag[];
}

/** The answer to `allocations/allocate`: where a project lives. */
export interface AllocateResult {
  readonly project: string;
  readonly server: string;
  readonly allocations: readonly Allocation[];
  /** Modules allocated by this request (empty when everything already existed). */
  readonly created: readonly string[];
}

/** Places a project's modules on one server with free ports; idempotent. */
export const AllocationsAllocate = defineRequest(
  'allocations/allocate',
  () => z.strictObject({
    project: projectName,
    modules: z.array(moduleName).min(1).max(64).optional(),
    /** RAM each new module needs and reserves, in MB. */
    minRamMb: z.number().int().min(RAM_MB_BOUNDS.min).max(RAM_MB_BOUNDS.max).default(DEFAULT_MIN_RAM_MB),
    minDiskMb: z.number().int().min(DISK_MB_BOUNDS.min).max(DISK_MB_BOUNDS.max).default(DEFAULT_MIN_DISK_MB),
  }),
  result<AllocateResult>(),
);

/** Lists allocations by project and module, a page at a time: all or one project's. */
export const AllocationsList = defineRequest(
  'allocations/list',
  () => z.strictObject({ project: projectName.optional(), ...pageFields }),
  result<{ readonly allocations: readonly Allocation[] } & PageInfo>(),
);

/** Releases a project's allocations, or one module's. */
export const AllocationsRelease = defineRequest(
  'allocations/release',
  () => z.strictObject({ project: projectName, module: moduleName.optional() }),
  result<{ readonly released: readonly Allocation[] }>(),
);

/** Sent to every client after allocations changed. */
export const AllocationsDidChange = defineNotification(
  'allocations/didChange',
  () => z.strictObject({ projects: z.array(z.string()) }),
);
