/**
 * Coded errors for guest image builds. Every message says what failed and
 * what to do about it, because the person reading it is usually someone who
 * just typed `make test` on a fresh machine.
 */
import { CodedError, isCodedError } from '../lib/errors.js';

export type ImageErrorCode =
  /** A Debian tool the build needs (apt-get, apt-cache, dpkg-deb) is missing. */
  | 'ERR_IMAGE_TOOL_MISSING'
  /** apt could not resolve a package or version. */
  | 'ERR_IMAGE_PACKAGE_UNKNOWN'
  /** apt-get download failed. */
  | 'ERR_IMAGE_DOWNLOAD'
  /** dpkg-deb could not unpack a package. */
  | 'ERR_IMAGE_EXTRACT'
  /** The unpacked packages do not hold what the image needs (kernel, module, busybox). */
  | 'ERR_IMAGE_CONTENT'
  /** A kernel module's metadata could not be read, or its dependencies do not resolve. */
  | 'ERR_IMAGE_MODULES'
  /** The cache directory is unusable (not writable, inside the work tree). */
  | 'ERR_IMAGE_CACHE'
  | 'ERR_IMAGE_CACHE_IN_TREE';

export class ImageError extends CodedError<ImageErrorCode> {}

export function isImageError(e: unknown, code?: ImageErrorCode): e is ImageError {
  return isCodedError(e, code, ImageError);
}
