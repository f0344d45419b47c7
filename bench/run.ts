export async function benchCommand(): Promise<void> {}
