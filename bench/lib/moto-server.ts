/** A private moto server for the bench, started by the same code as the tests and the demo. */
import { startEmulator } from '../../scripts/cli/emulator.js';

export interface Moto {
  endpoint: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const emulator = await startEmulator();
  const reset = async () => {
    const res = await fetch(`${emulator.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
  };
  return { endpoint: emulator.endpoint, reset, stop: () => emulator.stop() };
}
