import type { BenchContext } from '../lib/context';

export async function waitingCustomers(_ctx: BenchContext): Promise<void> {}
