/**
 * glibc's malloc threshold above which an allocation gets pages of its own (mmap), returned to the
 * system when freed. glibc raises its threshold past any mmapped block that is freed, up to 32 MB:
 * after the first GetCampaign answer (~3 MB at the ceiling) is freed, every later one comes from
 * the heap arenas, and the pages they leave free stay counted in the process's memory. With the
 * threshold fixed, a worker's resident memory follows what V8 holds: 40–50 MB less at the peak per
 * worker under 50 readers of a 100,000-code campaign (src/campaigns/get-campaign-load.faults.test.ts).
 * Allocations on the hot path are far below it.
 */
export const MALLOC_MMAP_THRESHOLD_BYTES = 128 * 1024;

/**
 * The environment a worker is forked with: the primary's, plus the malloc threshold unless the
 * operator set one. glibc reads it at process start, so only a parent can set it; other C
 * libraries ignore it.
 */
export function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined) return {};
  return { MALLOC_MMAP_THRESHOLD_: String(MALLOC_MMAP_THRESHOLD_BYTES) };
}
