/** An ARM-shaped failure: `{"error":{"code","message"}}` with its HTTP status. */
export class ArmHttpError extends Error {
  override readonly name = 'ArmHttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function armError(status: number, code: string, message: string): ArmHttpError {
  return new ArmHttpError(status, code, message);
}

export const badRequest = (code: string, message: string): ArmHttpError => armError(400, code, message);
