/** Runs a bench entry point and exits with its status; a throw is reported and exits 1. */
export function runEntry(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error("bench failed:", err);
      process.exit(1);
    },
  );
}
