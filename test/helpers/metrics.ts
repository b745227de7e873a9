// Reads promgate's metrics the way Prometheus does: the text format, parsed into series -> value.
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.ts';

export type Samples = Map<string, number>;

/** `name{label="value",...}` exactly as exposed (prom-client writes labels in a fixed order). */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export async function scrape(address: AddressInfo | undefined): Promise<Samples> {
  if (!address) throw new Error('no metrics listener (metrics.listenAddress)');
  const response = await fetch(`http://127.0.0.1:${address.port}/metrics`);
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** A sample's value, 0 when the series does not exist yet (counters start absent). */
export function sampleValue(samples: Samples, series: string): number {
  return samples.get(series) ?? 0;
}

/** Polls until `check` passes on a fresh scrape, or fails with the last scrape's problem. */
export function eventually(
  address: AddressInfo | undefined,
  check: (samples: Samples) => void,
  timeoutMs = 5000,
): Promise<Samples> {
  const passes = async () => {
    const samples = await scrape(address);
    check(samples);
    return samples;
  };
  return waitFor(passes, { timeoutMs, message: 'the metrics to pass the check' });
}
