// Reads a YAML file into plain data, keeping a way back from a key path to its line, so errors
// can say `file:line: key: problem`.
import { readFileSync } from 'node:fs';
import type { Document } from 'yaml';
import { yaml } from './yaml.ts';
import { ConfigError, fileErrorReason } from '../errors.ts';

export interface YamlFile {
  file: string;
  /** The document as plain data; undefined for an empty file. */
  value: unknown;
  /** The parsed document, for readers that need a scalar as written (Prometheus's files, see go-yaml.ts). */
  document: Document;
  /** 1-based line of the key (or sequence item) at `path`, if it is in the file. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** `yaml11` reads booleans like Go's yaml.v2 does (yes/no/on/off), for Prometheus's files. */
export function readYamlFile(file: string, what = 'config file', { yaml11 = false } = {}): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${what}: ${fileErrorReason(error)}`, { origin: file });
  }
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: true,
    ...(yaml11 ? { version: '1.1' as const } : {}),
  });
  const [yamlError] = doc.errors;
  if (yamlError) {
    const summary = (yamlError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`invalid YAML: ${summary}`, { origin: file, line: yamlError.linePos?.[0].line });
  }
  const value: unknown = doc.toJS();
  return {
    file,
    value: value === null ? undefined : value,
    document: doc,
    lineOf(path) {
      if (path.length === 0) return 1;
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      const last = path[path.length - 1];
      let offset: number | undefined;
      if (isMap(parent)) {
        const pair = parent.items.find(
          (item) => isScalar(item.key) && (String(item.key.value) === String(last) || item.key.source === String(last)),
        );
        offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
      } else if (isSeq(parent) && /^\d+$/.test(String(last))) {
        offset = (parent.items[Number(last)] as { range?: [number, number, number] } | undefined)?.range?.[0];
      }
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    },
  };
}
