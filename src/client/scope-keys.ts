import { TenantScopeError } from '../base/errors.ts';
import { type KeyRing, loadKeyRing } from '../security/key-ring.ts';
import {
  type DerivedKey,
  hmacPads,
  runQueueProof,
  serviceKey,
  tenantKey,
  tenantKeyChangeProof,
} from '../security/tenant-keys.ts';

// The keys a database's scopes and workers prove themselves with: the ring they are derived from,
// each organization's newest tenant key version (read again after KEY_RECHECK_MS), and the service key.

/** A tenant key derived from the ring, with the version the database knows it by. */
interface TenantKey extends DerivedKey {
  version: number;
  /** When the version was read: after `KEY_RECHECK_MS` it is read again (a rotation may have retired it). */
  readAt: number;
}

/**
 * How long a tenant key version is used before the database is asked again: shorter than the
 * default rotation grace (`rotateTenantKey`), so processes move to a new version before the old retires.
 */
export const KEY_RECHECK_MS = 5 * 60_000;

/** A statement of the key functions, sent as the login (no scope). */
type KeyQuery = <T>(text: string, params: unknown[]) => Promise<T[]>;

export class ScopeKeys {
  private readonly tenantKeys = new Map<string, TenantKey>();
  private service: DerivedKey | undefined;

  constructor(
    private readonly query: KeyQuery,
    /** Whether the public development ring may be used (the embedded database, or NEONHUB_DEVELOPMENT=1), asked when the ring is loaded. */
    private readonly developmentAllowed: () => boolean,
    private ring?: KeyRing,
  ) {}

  /** The organization's key and version a scope opens with: the one read last, unless that was `KEY_RECHECK_MS` ago. */
  async tenantKey(organizationId: string): Promise<TenantKey> {
    const cached = this.tenantKeys.get(organizationId);
    return cached && Date.now() - cached.readAt < KEY_RECHECK_MS
      ? cached
      : this.readTenantKey(organizationId);
  }

  /** The next scope of the organization reads its key version again (a refused or outdated one). */
  forgetTenantKey(organizationId: string): void {
    this.tenantKeys.delete(organizationId);
  }

  /** The ring of `createDb({ keys })`, else the environment's; the public development ring only for a development target. */
  keyRing(): KeyRing {
    this.ring ??= loadKeyRing(process.env, {
      developmentAllowed: this.developmentAllowed(),
      ...(process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS && { warn: () => {} }),
    });
    return this.ring;
  }

  /** Keeps the key of a version this process just registered (createOrganization, rotateTenantKey). */
  rememberTenantKey(organizationId: string, version: number, keyId: string): void {
    const key = tenantKey(this.keyRing(), keyId, organizationId, version);
    this.tenantKeys.set(organizationId, { keyId, key, version, readAt: Date.now() });
  }

  /**
   * The organization's newest key version, derived from the ring. An organization made before
   * scope tickets has none yet: it gets version 1 here, signed by the service key.
   */
  private async readTenantKey(organizationId: string): Promise<TenantKey> {
    const rows = await this.query<{ version: number | null; key_id: string | null }>(
      'select version, key_id from public.app_tenant_key_version($1)',
      [organizationId],
    );
    const [row] = rows;
    if (!row) throw new TenantScopeError(`no organization ${organizationId}`);
    if (row.version === null || row.key_id === null) {
      await this.addTenantKey(organizationId, 1, 0);
      return this.readTenantKey(organizationId);
    }
    const entry: TenantKey = {
      version: row.version,
      keyId: row.key_id,
      key: tenantKey(this.keyRing(), row.key_id, organizationId, row.version),
      readAt: Date.now(),
    };
    this.tenantKeys.set(organizationId, entry);
    return entry;
  }

  /**
   * Registers a new key version of an organization, derived from the ring's active key and signed
   * by the service key; older versions stop opening the tenant `graceSeconds` from now.
   */
  async addTenantKey(organizationId: string, version: number, graceSeconds: number): Promise<void> {
    const ring = this.keyRing();
    const keyId = ring.activeKeyId;
    const verifier = hmacPads(tenantKey(ring, keyId, organizationId, version));
    const issued = Date.now();
    const { key: service } = await this.serviceKey();
    const proof = tenantKeyChangeProof(
      service,
      { organizationId, version, keyId, verifier, graceSeconds },
      issued,
    );
    await this.query('select public.app_add_tenant_key($1, $2, $3, $4, $5, $6, $7)', [
      organizationId,
      version,
      keyId,
      verifier,
      graceSeconds,
      issued,
      proof,
    ]);
    this.tenantKeys.delete(organizationId);
  }

  /** What `createOrganization` sends for the first key version of a new organization. */
  async firstTenantKey(
    organizationId: string,
  ): Promise<{ keyId: string; verifier: Buffer; issued: number; proof: Buffer }> {
    const ring = this.keyRing();
    const keyId = ring.activeKeyId;
    const verifier = hmacPads(tenantKey(ring, keyId, organizationId, 1));
    const issued = Date.now();
    const { key: service } = await this.serviceKey();
    const proof = tenantKeyChangeProof(
      service,
      { organizationId, version: 1, keyId, verifier, graceSeconds: 0 },
      issued,
    );
    return { keyId, verifier, issued, proof };
  }

  /** What a worker's cross-tenant call to the run queue carries: the issue time and the service key's proof of it. */
  async runQueueProof(purpose: string): Promise<{ issued: number; proof: Buffer }> {
    const { key } = await this.serviceKey();
    const issued = Date.now();
    return { issued, proof: runQueueProof(key, purpose, issued) };
  }

  /** The service key, derived from the ring key the database registered it under (`neonhub-db migrate`). */
  async serviceKey(): Promise<DerivedKey> {
    if (this.service) return this.service;
    const [row] = await this.query<{ key_id: string | null }>(
      'select public.app_service_key_id() as key_id',
      [],
    );
    if (!row?.key_id) {
      throw new TenantScopeError(
        'no service key is registered in this database: run `neonhub-db migrate` with the key ring (NEONHUB_CREDENTIAL_KEYS) as the migrating role',
      );
    }
    this.service = { keyId: row.key_id, key: serviceKey(this.keyRing(), row.key_id) };
    return this.service;
  }
}
