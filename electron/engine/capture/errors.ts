/** A file that is valid safetensors but not a valid capture (spec section 3.1). */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}
