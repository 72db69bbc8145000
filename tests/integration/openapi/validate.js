// validate.js -- check real answers against api/openapi.json with Ajv
// (JSON Schema 2020-12, as OpenAPI 3.1 uses) and ajv-formats.
//
//   node validate.js OPENAPI_JSON CASES_JSON
//
// CASES_JSON is [{"label", "pointer", "body"}]: pointer is a JSON Pointer
// into the document (to a schema); body the parsed answer.  Prints a JSON
// array of {"label", "errors"} for the answers that do not validate, and
// exits 0 (the caller judges); exits 2 on a usage or schema error.
"use strict";
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

if (process.argv.length !== 4) {
  console.error("usage: node validate.js OPENAPI_JSON CASES_JSON");
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const cases = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
// strict off: the document's own keywords (openapi, paths, ...) are not
// JSON Schema; the schemas inside it are checked when compiled.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");
const bad = [];
for (const c of cases) {
  const validate = ajv.getSchema("openapi.json#" + c.pointer);
  if (!validate) {
    console.error("no schema at " + c.pointer);
    process.exit(2);
  }
  if (!validate(c.body))
    bad.push({ label: c.label, errors: validate.errors });
}
console.log(JSON.stringify(bad));
