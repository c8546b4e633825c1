// Reading JSON Schema (as zod's toJSONSchema writes it) for the config reference: one-line types and the fields of
// nested objects.

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Bounds of a number schema as "≥ 0", "> 0", "1 … 10" (the ±2⁵³ bounds zod adds to integers left out). */
function bounds(s) {
  const lo = s.minimum !== undefined && Math.abs(s.minimum) < MAX_SAFE ? `≥ ${s.minimum}` : s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '';
  const hi = s.maximum !== undefined && Math.abs(s.maximum) < MAX_SAFE ? `≤ ${s.maximum}` : s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : '';
  return [lo, hi].filter(Boolean).join(', ');
}

/** A schema's type in one line: `number ≥ 0`, `"gaussian" \| "poisson"`, `[integer ≥ 8, integer ≥ 8]`, `string[]`. */
export function typeOf(s) {
  if (!s || typeof s !== 'object') return 'any';
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeOf).join(' | ');
  if (s.type === 'array') {
    if (s.prefixItems) return `[${s.prefixItems.map(typeOf).join(', ')}]`;
    const item = typeOf(s.items);
    return /\s/.test(item) ? `(${item})[]` : `${item}[]`;
  }
  if (s.type === 'integer' || s.type === 'number') return [s.type, bounds(s)].filter(Boolean).join(' ');
  if (s.type === 'object') return 'object';
  return s.type ?? 'any';
}

/** The variants of a union schema (anyOf / oneOf), or [s]. */
export function variants(s) {
  return s.anyOf ?? s.oneOf ?? [s];
}

/**
 * The fields of an object schema, depth-first: [path, schema, required] for every property, and for nested plain
 * objects (no union) their properties after them.
 */
export function fields(s, prefix = '') {
  const out = [];
  const required = new Set(s.required ?? []);
  for (const [name, p] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    out.push([path, p, required.has(name)]);
    if (p.type === 'object' && p.properties && !p.anyOf && !p.oneOf) out.push(...fields(p, path));
  }
  return out;
}
