// Reads the `cartridge.*` settings. The server owns every default: unset values are left out of the
// initialization options so the server's own defaults apply.
import { ConfigurationChangeEvent, workspace } from 'vscode';

export const SECTION = 'cartridge';

/** The initialization options the Cartridge server accepts. */
export interface InitOptions {
    profilesDir?: string;
    target?: string;
    schemas?: string[];
    replaceExisting?: boolean;
    tests?: { onFailure?: 'drop' | 'warn' };
    domain?: string;
}

/** How the user asked for the server to be started. */
export interface ServerSettings {
    command: string[];
    pythonPath: string;
}

export function getServerSettings(): ServerSettings {
    const config = workspace.getConfiguration(SECTION);
    return {
        command: nonEmptyStrings(config.get<string[]>('server.command', [])),
        pythonPath: config.get<string>('server.pythonPath', '').trim(),
    };
}

export function getInitOptions(): InitOptions {
    const config = workspace.getConfiguration(SECTION);
    const options: InitOptions = {};
    const profilesDir = config.get<string>('profilesDir', '').trim();
    if (profilesDir) {
        options.profilesDir = profilesDir;
    }
    const target = config.get<string>('target', '').trim();
    if (target) {
        options.target = target;
    }
    const schemas = nonEmptyStrings(config.get<string[]>('schemas', []));
    if (schemas.length > 0) {
        options.schemas = schemas;
    }
    options.replaceExisting = config.get<boolean>('replaceExisting', false);
    const onFailure = config.get<string>('tests.onFailure', 'drop');
    // Only the values the server accepts: anything else leaves the server's default.
    if (onFailure === 'drop' || onFailure === 'warn') {
        options.tests = { onFailure };
    }
    const domain = config.get<string>('domain', '').trim();
    if (domain) {
        options.domain = domain;
    }
    return options;
}

const RESTART_KEYS = [
    'server.command',
    'server.pythonPath',
    'profilesDir',
    'target',
    'schemas',
    'replaceExisting',
    'tests.onFailure',
    'domain',
];

/** True when a change needs a new server; trace changes are applied by the client on its own. */
export function needsRestart(event: ConfigurationChangeEvent): boolean {
    return RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
}

function nonEmptyStrings(values: unknown): string[] {
    if (!Array.isArray(values)) {
        return [];
    }
    return values.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
}
