import type { BenchContext } from '../lib/context';

export async function timeToFirstMessage(_ctx: BenchContext): Promise<void> {}
