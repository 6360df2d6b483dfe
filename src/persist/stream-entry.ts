/** One issue as recorded on a campaign's stream by `issue-coupon.lua`. */
export type IssueEvent = {
  /** The stream entry id, needed to XACK it. */
  id: string;
  code: string;
  /** "" when the caller named no user. */
  userId: string;
  sequence: number;
  issuedAtMs: number;
};

export type RawStreamEntry = [id: string, fields: string[]];

/** Decodes the flat field list `c code u user s sequence t ms` of a stream entry. */
export function parseIssueEvent([id, fields]: RawStreamEntry): IssueEvent {
  const e: IssueEvent = { id, code: "", userId: "", sequence: 0, issuedAtMs: 0 };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1]!;
    switch (fields[i]) {
      case "c":
        e.code = v;
        break;
      case "u":
        e.userId = v;
        break;
      case "s":
        e.sequence = Number(v);
        break;
      case "t":
        e.issuedAtMs = Number(v);
        break;
    }
  }
  return e;
}
