/**
 * The one error type of the service. Domain code throws `AppError` with a code from a closed set;
 * `src/rpc/errors.ts` maps it to the wire in one place. Anything else that escapes is an internal
 * error and is never shown to a client as is.
 */
export const ERROR_CODES = [
  "invalid_argument",
  "not_found",
  "failed_precondition",
  "resource_exhausted",
  "unavailable",
  "unauthenticated",
  "permission_denied",
  "already_exists",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidArgument = (message: string) => new AppError("invalid_argument", message);
export const notFound = (message: string) => new AppError("not_found", message);
export const failedPrecondition = (message: string) => new AppError("failed_precondition", message);
export const unavailable = (message: string, cause?: unknown) =>
  new AppError("unavailable", message, { cause });
