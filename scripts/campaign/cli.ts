#!/usr/bin/env node
/**
 * The admin CLI: `npm run campaign -- <command>`. It talks to a running service through its
 * Connect API (the generated connect-es client). Each command lives in commands/<name>.ts and
 * registers itself on the program: a new command is a new file plus one line below.
 */
import { Command, CommanderError } from "commander";
import { addGlobalOptions, explain } from "./context.js";
import { registerCreate } from "./commands/create.js";
import { registerExport } from "./commands/export.js";
import { registerList } from "./commands/list.js";
import { registerSeed } from "./commands/seed.js";
import { registerShow } from "./commands/show.js";
import { registerWatch } from "./commands/watch.js";
import { registerPause } from "./commands/pause.js";
import { registerResume } from "./commands/resume.js";
import { registerCancel } from "./commands/cancel.js";
import { registerVerify } from "./commands/verify.js";
import { registerRedeem } from "./commands/redeem.js";
import { registerRebuild } from "./commands/rebuild.js";
import { registerTakeOverNamespace } from "./commands/take-over-namespace.js";

const program = addGlobalOptions(new Command("campaign"))
  .description("Seed, inspect and export coupon campaigns of a running coupon service")
  .showHelpAfterError(false)
  .exitOverride();

registerCreate(program);
registerSeed(program);
registerShow(program);
registerWatch(program);
registerExport(program);
registerList(program);
registerPause(program);
registerResume(program);
registerCancel(program);
registerVerify(program);
registerRedeem(program);
registerRebuild(program);
registerTakeOverNamespace(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed its message (unknown option, missing argument, --help).
    process.exit(err.exitCode);
  }
  const opts = program.opts<{ url?: string; apiKey?: string }>();
  process.stderr.write(`${explain(err, opts.url, opts.apiKey || process.env.COUPON_ADMIN_KEY)}\n`);
  process.exit(1);
}
