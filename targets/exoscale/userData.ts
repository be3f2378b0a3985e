/** The API's limit on `user-data` (base64 text), from openapi-v2.json (`maxLength: 32768`). */
export const USER_DATA_MAX_BASE64_BYTES = 32_768;

/**
 * base64 user data for the API, with a clear error past the API's 32 KiB limit.
 * (Kept apart from the cloud-init builder: the instance provider serializes this function.)
 */
export function encodeUserData(cloudConfig: string): string {
  const b64 = Buffer.from(cloudConfig, "utf8").toString("base64");
  if (b64.length > USER_DATA_MAX_BASE64_BYTES) {
    throw new Error(
      `cloud-init user data is ${b64.length} bytes base64-encoded (${Buffer.byteLength(cloudConfig)} bytes raw); ` +
        `Exoscale accepts at most ${USER_DATA_MAX_BASE64_BYTES} bytes — shrink the document (e.g. fewer write_files)`,
    );
  }
  return b64;
}
