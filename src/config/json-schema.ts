/** A JSON Schema fragment (draft 2020-12, as ajv reads it). */
export type JsonSchema = Record<string, unknown>;
