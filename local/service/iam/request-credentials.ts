/** The credentials a SigV4-signed request carries: access key ID, session token, and the signing service name. */

/** Credentials as read from a request: access key ID and session token. */
export interface RequestCredentials {
  accessKeyId?: string;
  sessionToken?: string;
}

/** Reads access key ID and session token from a SigV4 request (Authorization header or presigned query). */
export function requestCredentials(
  headers: Record<string, string | string[] | undefined>,
  query?: URLSearchParams,
): RequestCredentials & { signingService?: string; signed: boolean } {
  const h = (n: string): string | undefined => {
    const v = headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  const auth = h('authorization');
  const credential = auth ? /Credential=([^,\s]+)/.exec(auth)?.[1] : (query?.get('X-Amz-Credential') ?? undefined);
  const [accessKeyId, , , signingService] = credential ? credential.split('/') : [];
  return {
    accessKeyId,
    signingService,
    sessionToken: h('x-amz-security-token') ?? query?.get('X-Amz-Security-Token') ?? undefined,
    signed: Boolean(credential),
  };
}
