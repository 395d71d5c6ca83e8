export const SCOPES = ['payments:write', 'payments:read', 'audit:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  readonly keyId: string;
  readonly merchantId: string;
  readonly scopes: ReadonlySet<Scope>;
}

export interface ApiKeyAuthenticator {
  /** The key's owner, or null when the key is unknown or revoked. */
  authenticate(key: string): Promise<Principal | null>;
}
