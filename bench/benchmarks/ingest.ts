import type { BenchContext } from '../lib/context';

export async function ingestion(_ctx: BenchContext): Promise<void> {}
