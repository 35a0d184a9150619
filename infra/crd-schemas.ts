/**
 * JSON schemas for kubeconform from CustomResourceDefinition YAML files (KEDA's, the Prometheus Operator's):
 * one file per kind and version, laid out as kubeconform's CRD catalog expects
 * (`<out>/<group>/<kind>_<version>.json`). Strict like the Kubernetes schemas: an object that lists its
 * properties rejects others, unless the CRD marks it x-kubernetes-preserve-unknown-fields.
 *
 * Usage (infra/k8s-tools.sh runs it): node --import tsx infra/crd-schemas.ts <out-dir> <crd.yaml>...
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

type Schema = { [key: string]: unknown };

interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
}

/** OpenAPI v3 (Kubernetes dialect) → JSON Schema, recursively. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const s: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) s[k] = k === 'enum' || k === 'default' || k === 'example' ? v : toJsonSchema(v);
  if (s['x-kubernetes-int-or-string'] === true) {
    delete s.type;
    s.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.nullable === true && typeof s.type === 'string') s.type = [s.type, 'null'];
  const open = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s.properties && s.additionalProperties === undefined && !open) s.additionalProperties = false;
  return s;
}

export function crdSchemas(text: string, file: string): { rel: string; schema: Schema }[] {
  const out: { rel: string; schema: Schema }[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const crd = doc.toJS() as Crd | null;
    if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
    for (const v of crd.spec.versions) {
      const root = v.schema?.openAPIV3Schema;
      if (!root) throw new Error(`${file}: ${crd.spec.names.kind} ${v.name} has no openAPIV3Schema`);
      const schema = toJsonSchema(root) as Schema;
      out.push({ rel: path.join(crd.spec.group, `${crd.spec.names.kind.toLowerCase()}_${v.name}.json`), schema });
    }
  }
  return out;
}

function main(argv: string[]): void {
  const [outDir, ...files] = argv;
  if (!outDir || !files.length) throw new Error('usage: crd-schemas.ts <out-dir> <crd.yaml>...');
  let n = 0;
  for (const file of files) {
    for (const { rel, schema } of crdSchemas(fs.readFileSync(file, 'utf8'), file)) {
      fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      fs.writeFileSync(path.join(outDir, rel), JSON.stringify(schema));
      n++;
    }
  }
  if (!n) throw new Error(`no CustomResourceDefinition in ${files.join(', ')}`);
}

if (require.main === module) main(process.argv.slice(2));
