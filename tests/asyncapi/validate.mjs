// Validates AsyncAPI documents with the AsyncAPI project's parser (the one its CLI uses):
// node validate.mjs FILE… prints each file's diagnostics as JSON, exits 1 when any is an error.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
const report = {};
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  failed ||= errors.length > 0 || document === undefined;
  report[file] = {
    valid: errors.length === 0 && document !== undefined,
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      path: d.path.join("/"),
    })),
  };
}
console.log(JSON.stringify(report, null, 2));
process.exit(failed ? 1 : 0);
