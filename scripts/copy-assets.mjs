// tsc compiles only .ts: copy the Lua scripts next to the compiled modules that load them, and the
// console's browser files (src/console/assets) next to the module that serves them.
import { cpSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function copyLua(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) copyLua(p);
    else if (name.endsWith(".lua")) cpSync(p, join("dist", p));
  }
}
copyLua("src");
cpSync("src/console/assets", "dist/src/console/assets", { recursive: true });
