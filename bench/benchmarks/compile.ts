import type { BenchContext } from '../lib/context';

export async function compileBenchmark(_ctx: BenchContext): Promise<void> {}
