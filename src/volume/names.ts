import { InvalidParameterError } from '../errors/index.js';

// Volume names as Docker's local driver accepts them: at least two
// characters, the first alphanumeric, then alphanumerics and "_.-".

export const VOLUME_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VALID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Throws Docker's message for a name the local driver refuses. */
export function validateVolumeName(name: string): void {
  if (name.length === 1) {
    throw new InvalidParameterError(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  }
  if (!VALID.test(name)) {
    throw new InvalidParameterError(
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "${VOLUME_NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}
