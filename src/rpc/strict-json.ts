import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";

/**
 * Strict JSON input, as connect-go (protojson) reads it, where protobuf-es is lenient:
 * - the body must be valid UTF-8: a lenient decoder replaces bad bytes by U+FFFD, so two
 *   different raw user ids would become one user;
 * - an integer given as a string must be a JSON number (`"0x1"`, `" 1"`, `"+1"` are refused;
 *   protobuf-es hands them to BigInt() or Number(), which accept them);
 * - a Timestamp must name an instant that exists (`2027-02-30T00:00:00Z` and `24:00:00` are
 *   refused; Date.parse rolls them over).
 * Every check throws an Error whose message names the field; connect-es turns it into
 * `invalid_argument`.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON text of a request body of message `desc`; throws when the body is not strict input. */
export function strictJsonText(desc: DescMessage, body: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new Error("the request body is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text; // not JSON at all: protobuf-es says so in its own words
  }
  checkMessage(desc, json);
  return text;
}

/** A `textDecoder` for connect-es's `jsonOptions`: every JSON request of one method goes through it. */
export function strictJsonDecoder(desc: DescMessage): { decode(bytes: Uint8Array): string } {
  return { decode: (bytes) => strictJsonText(desc, bytes) };
}

/** What protojson accepts for an integer in a string: the JSON number grammar, nothing more. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

const INTEGER_TYPES: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
  ScalarType.INT32,
  ScalarType.UINT32,
  ScalarType.SINT32,
  ScalarType.FIXED32,
  ScalarType.SFIXED32,
]);

function checkMessage(desc: DescMessage, json: unknown): void {
  // Anything but an object is protobuf-es's to refuse.
  if (json === null || typeof json !== "object" || Array.isArray(json)) return;
  for (const [key, value] of Object.entries(json)) {
    if (value === null) continue;
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (field) checkField(field, value);
  }
}

function checkField(field: DescField, value: unknown): void {
  switch (field.fieldKind) {
    case "scalar":
      checkScalar(field, field.scalar, value);
      return;
    case "message":
      checkMessageValue(field, field.message, value);
      return;
    case "list":
      if (!Array.isArray(value)) return;
      for (const v of value) {
        if (field.listKind === "scalar") checkScalar(field, field.scalar, v);
        else if (field.listKind === "message") checkMessageValue(field, field.message, v);
      }
      return;
    default:
      return; // enums and maps: protobuf-es is as strict as protojson
  }
}

function checkScalar(field: DescField, type: ScalarType, value: unknown): void {
  if (typeof value === "string" && INTEGER_TYPES.has(type) && !JSON_NUMBER.test(value)) {
    throw new Error(`invalid value for ${ScalarType[type].toLowerCase()} field ${field.name}: ${JSON.stringify(value)}`);
  }
}

function checkMessageValue(field: DescField, desc: DescMessage, value: unknown): void {
  if (desc.typeName === "google.protobuf.Timestamp") {
    if (typeof value === "string" && !isRealInstant(value)) {
      throw new Error(`invalid value for Timestamp field ${field.name}: ${JSON.stringify(value)} is not a date and time that exist`);
    }
    return;
  }
  checkMessage(desc, value);
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?(?:Z|[+-]([0-9]{2}):([0-9]{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * True unless `s` has the RFC 3339 shape but names a day or time that does not exist. A string
 * of another shape is left to protobuf-es, which refuses it.
 */
function isRealInstant(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return true;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}
