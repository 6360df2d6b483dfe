import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The README is a short front door and the rest lives in docs/: a link that points nowhere is the
// way such a split rots. Every relative link in README.md and docs/*.md must name a file of this
// repository, and its #anchor, when it has one, a heading of that file.

const root = fileURLToPath(new URL("../../", import.meta.url));
const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** The page without fenced code blocks, where `#` starts no heading and brackets are no links. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** The page without code, fenced or inline. */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, "");
}

/** Link targets: inline `[text](target "title")` and reference definitions `[id]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!);
  return [...inline, ...reference];
}

/** GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  // Explicit anchors (`<a id="…">`) count too.
  for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

/** What is wrong with one link of `page`, or undefined when it resolves. */
function brokenLink(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: … are not ours to check
  const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
  const file = pathPart === "" ? join(root, page) : join(dirname(join(root, page)), decodeURIComponent(pathPart));
  if (relative(root, file).startsWith("..")) return `${target} leaves the repository`;
  if (!existsSync(file)) return `${target}: no such file`;
  if (anchor && statSync(file).isFile() && file.endsWith(".md") && !headingAnchors(readFileSync(file, "utf8")).has(anchor)) {
    return `${target}: no heading with the anchor #${anchor}`;
  }
  return undefined;
}

describe("links in README.md and docs/", () => {
  it("finds links, including the README's links to every docs page", () => {
    const readme = linkTargets(readFileSync(join(root, "README.md"), "utf8"));
    for (const p of pages.filter((p) => p.startsWith("docs/"))) expect(readme, `README links ${p}`).toContain(p);
  });

  it.each(pages)("every relative link in %s resolves to a file and heading of the repository", (page) => {
    const broken = linkTargets(readFileSync(join(root, page), "utf8"))
      .map((t) => brokenLink(page, t))
      .filter((b): b is string => b !== undefined);
    expect(broken).toEqual([]);
  });

  it("computes anchors the way GitHub does", () => {
    const anchors = headingAnchors("# Coupon pool\n## `npm run bench`: the figures\n## Health, readiness, metrics\n## Faults\n## Faults\n```\n# not a heading\n```\n");
    expect([...anchors]).toEqual(["coupon-pool", "npm-run-bench-the-figures", "health-readiness-metrics", "faults", "faults-1"]);
  });

  it("reports a missing file and a missing anchor", () => {
    expect(brokenLink("README.md", "docs/no-such-page.md")).toBe("docs/no-such-page.md: no such file");
    expect(brokenLink("README.md", "docs/design.md#no-such-heading")).toBe("docs/design.md#no-such-heading: no heading with the anchor #no-such-heading");
    expect(brokenLink("docs/api.md", "operations.md#admin-key")).toBeUndefined();
    expect(brokenLink("README.md", "https://k6.io")).toBeUndefined();
  });
});
