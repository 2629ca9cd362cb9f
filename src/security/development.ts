/**
 * The one switch for development conveniences on a server: the public development key ring when no
 * keys are set, a privileged login for tenant scopes, demo tenants. The embedded database has them
 * without it; a server never gets them from its address (a loopback URL may be a production proxy).
 */
export const DEVELOPMENT_ENV = 'NEONHUB_DEVELOPMENT';

export const developmentOptedIn = (env: Readonly<Record<string, string | undefined>> = process.env) =>
  env[DEVELOPMENT_ENV] === '1';
