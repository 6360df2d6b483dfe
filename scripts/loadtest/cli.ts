import { writeFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { formatSummary } from "./report.js";
import { resolveOptions, SCENARIOS, UsageError, type RawFlags } from "./options.js";
import { RpcError, UnreachableError } from "./rpc/control-client.js";
import { runLoadtest } from "./run.js";

/** Exit statuses: the contract scripts and CI rely on. */
const EXIT_OK = 0;
const EXIT_VIOLATION = 1;
const EXIT_USAGE = 2;

function program(): Command {
  return new Command("loadtest")
    .description("Drives a running coupon service with one scenario and verifies its integrity.")
    .addOption(new Option("--scenario <name>", "seed | burst | ramp | multi | boundary | lifecycle").choices(SCENARIOS).default("seed"))
    .option("--url <url>", "service base URL", "http://127.0.0.1:8080")
    .option("--coupons <n>", "coupons per campaign (boundary: the small pool)")
    .option("--calls <n>", "IssueCoupon calls (multi: in total; boundary: per part)")
    .option("--concurrency <n>", "connections, i.e. calls in flight at most")
    .option("--duration <s>", "seconds: seed's spread, ramp's length, boundary's window around the start")
    .option("--rate <r>", "calls/s (seed), or FROM:TO (ramp)")
    .option("--campaigns <k>", "campaigns opening together (multi)")
    .option("--shards <k>", "sub-pools of every campaign the run creates, 1 to 64 (1: one pool)")
    .option("--lead <s>", "seconds from creating the campaigns to their opening")
    .option("--persist-timeout <s>", "seconds to wait for every owner to reach MySQL", "120")
    .option("--api-key <key>", "the service's ADMIN_API_KEY, if it has one (default: $COUPON_ADMIN_KEY)")
    .option("--json <file>", "also write the report as JSON to this file")
    .option("--quiet", "no progress lines")
    .addHelpText(
      "after",
      "\nDefaults per scenario:\n" +
        "  seed      20,000 coupons opening 3 s after creation, one early call, 10,000 calls over 10 s\n" +
        "  burst     10,000 coupons, 15,000 callers at the opening, 128 at a time\n" +
        "  ramp      15,000 coupons, rate rising 500 → 3,000 calls/s over 10 s\n" +
        "  multi     4 campaigns × 5,000 coupons opening together, 24,000 callers round-robin\n" +
        "  boundary  1,000 calls over 2 s around the start instant; then 1,000 callers against 5 coupons\n" +
        "  lifecycle 15,000 callers against 10,000 coupons with a pause held mid-burst; then 2,000 calls over 2 s around an end instant\n" +
        "\nExit status: 0 integrity holds, 1 a violation, 2 bad usage or service unreachable.",
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

async function main(argv: string[]): Promise<number> {
  let flags: RawFlags;
  try {
    flags = program().parse(argv).opts<RawFlags>();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
  try {
    // Read here, not as the flag's default: a default would print the key in --help.
    const options = resolveOptions({ ...flags, apiKey: flags.apiKey ?? process.env.COUPON_ADMIN_KEY });
    const report = await runLoadtest(options, { print: options.quiet ? undefined : (line) => console.error(line) });
    console.log(formatSummary(report));
    if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.integrity.ok ? EXIT_OK : EXIT_VIOLATION;
  } catch (err) {
    if (err instanceof UsageError || err instanceof UnreachableError) {
      console.error(`loadtest: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof RpcError) {
      // A refused set-up call (CreateCampaign, GetCampaign…): invalid input is the user's to fix.
      console.error(`loadtest: the service refused a set-up call: ${err.message}`);
      return err.code === "invalid_argument" ? EXIT_USAGE : EXIT_VIOLATION;
    }
    throw err;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    console.error("loadtest: unexpected failure:", err);
    process.exit(EXIT_VIOLATION);
  },
);
