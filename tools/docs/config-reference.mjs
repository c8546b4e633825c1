// The config reference page, generated from the config's JSON Schema (configJsonSchema(registry)) and every plugin's
// option schema (optionDocs / optionsJsonSchema), so it lists exactly what `bilevel run` accepts.
import { FIELD_NOTES } from './field-notes.mjs';
import { fields, typeOf, variants } from './json-schema.mjs';
import { code, generatedBanner, sentence, table, typeCode } from './markdown.mjs';

/** Config fields that name a plugin (or an oracle choice), with the heading of their section below. */
const CHOICE_FIELDS = ['operator', 'fidelity', 'regularizer', 'lowerSolver', 'linearSolver', 'optimizer', 'oracle'];
const SOURCE_FIELDS = new Set(['data.train', 'data.test']);

/** The meaning of a field: its schema's description, else the note kept for it. */
function meaning(path, s, notes) {
  return s.description ?? notes[path];
}

/** A default as it reads in a table; a plugin choice's default as its name. */
function shownDefault(v) {
  if (v && typeof v === 'object' && 'name' in v) return code(v.name);
  return code(v);
}

/** The field column of a choice field: its plugins by name, each linked to its section. */
function choiceMeaning(field, s, names) {
  const own = s.description ? `${s.description}; ` : '';
  return `${own}one of ${names.map((n) => `[\`${n}\`](#${n})`).join(', ')}`;
}

/** A meaning, marked when the field is required. */
function withRequired(required, text) {
  return required ? `**required**: ${text ?? ''}` : text;
}

/**
 * One row per config field: field, type, default, meaning. `parsed` is a minimal config after parsing:
 * the plugin a choice field defaults to is read from it (the JSON Schema of a transformed field has no default).
 */
function fieldRows(schema, choices, notes, parsed) {
  return fields(schema).filter(([path]) => !path.includes('.') || !CHOICE_FIELDS.includes(path.split('.')[0])).map(([path, s, required]) => {
    if (CHOICE_FIELDS.includes(path)) {
      const bare = variants(s).some((v) => v.enum || v.type === 'string');
      const type = bare ? '`"name"` or `{ name, options }`' : '`{ name, options, theta0 }`';
      return [`\`${path}\``, type, shownDefault(s.default ?? parsed[path]), withRequired(required, choiceMeaning(path, s, choices[path].map((c) => c.name)))];
    }
    const type = SOURCE_FIELDS.has(path) ? '[image source](#image-sources)' : typeCode(typeOf(s));
    return [`\`${path}\``, type, shownDefault(s.default), withRequired(required, meaning(path, s, notes))];
  });
}

/** An image source variant's heading: its `source` value, or "named data set" for a choice of names. */
function sourceLabel(v) {
  const source = v.properties?.source;
  if (source?.const !== undefined) return source.const;
  if (source?.enum) return 'a named data set';
  throw new Error(`tools/docs: an image source variant without a "source" field: ${JSON.stringify(v).slice(0, 200)}`);
}

/** The image sources `data.train` / `data.test` accept, one table each (every variant of the schema's union). */
function sourceSection(schema, notes) {
  const train = schema.properties.data.properties.train;
  const parts = variants(train).map((v) => {
    const label = sourceLabel(v);
    const rows = fields(v).filter(([p, s]) => p !== 'source' || s.enum).map(([p, s, req]) => [`\`${p}\``, typeCode(typeOf(s)), shownDefault(s.default), withRequired(req, meaning(`source.${p}`, s, notes))]);
    return `### source: ${label}\n\n${v.description ? v.description + '\n\n' : ''}${table(['field', 'type', 'default', 'meaning'], rows)}`;
  });
  return `## Image sources\n\n\`data.train\` and \`data.test\` each take one of these objects, chosen by \`source\`. Relative paths resolve from the config file's folder.\n\n${parts.join('\n')}`;
}

/** The JSON Schema of each option, looked up across the variants of a union schema. */
function optionSchemas(jsonSchema) {
  const byName = new Map();
  for (const v of variants(jsonSchema)) {
    for (const [name, s] of Object.entries(v.properties ?? {})) byName.set(name, [...(byName.get(name) ?? []), s]);
  }
  return byName;
}

/** An option's type over the variants that declare it: the union of their consts, else the first one's type. */
function optionType(list = []) {
  if (list.length > 1 && list.every((s) => s.const !== undefined)) return list.map((s) => JSON.stringify(s.const)).join(' | ');
  return list.length ? typeOf(list[0]) : 'any';
}

/** One row per option of a plugin: option, type, default, meaning. */
function optionRows(core, schema) {
  const schemas = optionSchemas(core.optionsJsonSchema(schema));
  return core.optionDocs(schema).map((o) => [`\`${o.name}\``, typeCode(optionType(schemas.get(o.name))), code(o.default), o.description]);
}

/** A plugin's section: name, description, parameter count and its options. */
function choiceSection(core, c) {
  const count = c.parameterCount !== undefined ? ` θ has ${c.parameterCount} parameters (with the default options).` : '';
  const opts = c.schema && core.optionDocs(c.schema).length ? table(['option', 'type', 'default', 'meaning'], optionRows(core, c.schema)) : 'No options.\n';
  return `### ${c.name}\n\n${sentence(c.description)}${count}\n\n${opts}`;
}

/** Fails when a field note names a field the schema no longer has (so the notes cannot go stale). */
function checkNotes(schema, notes) {
  const known = new Set(fields(schema).map(([p]) => p));
  for (const v of variants(schema.properties.data.properties.train)) for (const [p] of fields(v)) known.add(`source.${p}`);
  const stale = Object.keys(notes).filter((p) => !known.has(p));
  if (stale.length) throw new Error(`tools/docs/field-notes.mjs: no such config field ${stale.join(', ')}: remove the note`);
}

/**
 * The config reference page from the JSON Schema of configs (`schema`), the plugins of each choice field (`choices`:
 * field → descriptors with name, description, parameterCount and option schema) and core's optionDocs /
 * optionsJsonSchema (`core`); `parsed` is a minimal config after parsing (the defaults of the choice fields).
 */
export function configReference({ schema, choices, core, parsed, notes = FIELD_NOTES }) {
  checkNotes(schema, notes);
  const kinds = CHOICE_FIELDS.map((f) => `## ${f}\n\n${choices[f].map((c) => choiceSection(core, c)).join('\n')}`);
  return `---
title: Config reference
group: Reference
---
${generatedBanner('tools/docs/config-reference.mjs')}
# Config reference

Every field of a config file and every option of every built-in plugin, generated from the config schema
(\`configJsonSchema(await defaultRegistry())\` of \`@bilevel/experiment\`) and each plugin's option schema when the
docs are built. \`npx bilevel schema\` prints the same JSON Schema (for editors), \`npx bilevel plugins\` the same
options, and \`npx bilevel validate <config>\` checks a file against them. An annotated example:
[the config format](../running.md#config-format).

## Fields

${table(['field', 'type', 'default', 'meaning'], fieldRows(schema, choices, notes, parsed))}
${sourceSection(schema, notes)}
${kinds.join('\n')}`;
}
