import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type Node } from "acorn";
import { describe, expect, it } from "vitest";

// k6 is not installable on these machines, so this is what can be proven here: every script is
// a standard ES module that k6 would load, with the exports k6 needs, importing only k6's own
// modules and our helpers.
const K6_DIR = dirname(fileURLToPath(import.meta.url));
const SCRIPTS = ["seed.js", "burst.js", "ramp.js", "multi-campaign.js", "boundary.js"];
const K6_MODULES = new Set(["k6", "k6/http", "k6/metrics", "k6/execution"]);

type Program = { body: Array<Node & Record<string, any>> };

function parseModule(path: string): Program {
  return parse(readFileSync(path, "utf8"), { ecmaVersion: "latest", sourceType: "module" }) as unknown as Program;
}

function importsOf(program: Program): string[] {
  return program.body.filter((n) => n.type === "ImportDeclaration").map((n) => n.source.value as string);
}

/** The script and every helper it reaches, each parsed once. */
function moduleGraph(entry: string): Map<string, Program> {
  const seen = new Map<string, Program>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    const program = parseModule(path);
    seen.set(path, program);
    for (const spec of importsOf(program)) if (spec.startsWith(".")) visit(resolve(dirname(path), spec));
  };
  visit(entry);
  return seen;
}

function namedExports(program: Program): Map<string, Node & Record<string, any>> {
  const out = new Map<string, Node & Record<string, any>>();
  for (const n of program.body) {
    if (n.type !== "ExportNamedDeclaration" || !n.declaration) continue;
    const d = n.declaration;
    if (d.type === "FunctionDeclaration") out.set(d.id.name, d);
    if (d.type === "VariableDeclaration") for (const v of d.declarations) out.set(v.id.name, v.init);
  }
  return out;
}

function propertyNames(object: Node & Record<string, any>): string[] {
  return object.properties.map((p: Record<string, any>) => (p.key.type === "Identifier" ? p.key.name : p.key.value));
}

describe("k6 scripts", () => {
  it("ships exactly the documented scripts", () => {
    const found = readdirSync(K6_DIR).filter((f) => f.endsWith(".js"));
    expect(found.sort()).toEqual([...SCRIPTS].sort());
  });

  for (const script of SCRIPTS) {
    describe(script, () => {
      const path = join(K6_DIR, script);

      it("parses, with every helper it imports, as an ES module using only k6's standard modules", () => {
        const graph = moduleGraph(path);
        for (const [file, program] of graph) {
          for (const spec of importsOf(program)) {
            if (!spec.startsWith(".")) expect(K6_MODULES, `${file} imports ${spec}`).toContain(spec);
          }
        }
      });

      it("imports from its helpers only names they export", () => {
        for (const [file, program] of moduleGraph(path)) {
          for (const n of program.body) {
            if (n.type !== "ImportDeclaration" || !n.source.value.startsWith(".")) continue;
            const exported = namedExports(parseModule(resolve(dirname(file), n.source.value)));
            for (const spec of n.specifiers) {
              if (spec.type === "ImportSpecifier") expect([...exported.keys()], `${file} imports ${spec.imported.name}`).toContain(spec.imported.name);
            }
          }
        }
      });

      it("exports options with thresholds that hold integrity violations at zero, and a default function", () => {
        const program = parseModule(path);
        const exports = namedExports(program);
        const options = exports.get("options");
        expect(options?.type).toBe("ObjectExpression");
        expect(propertyNames(options!)).toEqual(expect.arrayContaining(["scenarios", "thresholds"]));
        const thresholds = options!.properties.find((p: Record<string, any>) => p.key.name === "thresholds").value;
        expect(propertyNames(thresholds)).toEqual(expect.arrayContaining(["integrity_violations", "checks"]));
        const def = program.body.find((n) => n.type === "ExportDefaultDeclaration");
        expect(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]).toContain(def?.declaration.type);
      });

      it("creates its campaign in setup() and verifies it in teardown()", () => {
        const exports = namedExports(parseModule(path));
        expect(exports.get("setup")?.type).toBe("FunctionDeclaration");
        expect(exports.get("teardown")?.type).toBe("FunctionDeclaration");
      });
    });
  }

  it("takes the service URL from __ENV.BASE_URL", () => {
    expect(readFileSync(join(K6_DIR, "lib/connect.js"), "utf8")).toContain("__ENV.BASE_URL");
  });
});
