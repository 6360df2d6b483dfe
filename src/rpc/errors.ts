import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import { AppError, type ErrorCode } from "../errors.js";

/** The one mapping from the service's error codes to Connect's. */
const TO_CONNECT: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  already_exists: Code.AlreadyExists,
  internal: Code.Internal,
};

export function connectCodeOf(code: ErrorCode): Code {
  return TO_CONNECT[code];
}

/** HTTP status Connect uses for a code (400, 404, 429, 503, …). */
export function httpStatusOf(code: ErrorCode): number {
  return codeToHttpStatus(TO_CONNECT[code]);
}

/**
 * Turns anything thrown by domain code into what the client may see. Unknown errors are logged
 * in full and leave as a bare `internal` error: driver messages (SQL, keys) never reach a client.
 */
export function toConnectError(err: unknown, logger: Logger): ConnectError {
  if (err instanceof AppError) {
    if (err.code === "unavailable" || err.code === "internal") logger.warn({ err }, err.message);
    return new ConnectError(err.message, TO_CONNECT[err.code]);
  }
  if (err instanceof ConnectError) return err;
  logger.error({ err }, "unexpected error");
  return new ConnectError("internal error", Code.Internal);
}
