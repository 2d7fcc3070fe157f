import type { SettingsReader } from '../../domain/ports/notify';

/** App settings are environment variables in Functions (Key Vault references arrive resolved). */
export class EnvSettings implements SettingsReader {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }
}
