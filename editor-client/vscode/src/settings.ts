// Reads the `cartridge.*` settings. The server owns every default: unset values are left out of the
// initialization options so the server's own defaults apply.
import { ConfigurationChangeEvent, WorkspaceConfiguration, workspace } from 'vscode';

export const SECTION = 'cartridge';

/** The initialization options the Cartridge server accepts. */
export interface InitOptions {
    profilesDir?: string;
    target?: string;
    schemas?: string[];
    replaceExisting?: boolean;
    tests?: { onFailure?: 'drop' | 'warn' };
    domain?: string;
    llm?: LlmOptions;
}

/** The `llm` section: which LLM the AI commands ask, and what may be sent. Never the key itself. */
export interface LlmOptions {
    provider: string;
    model?: string;
    baseUrl?: string;
    apiKeyEnv?: string;
    sendSamples?: boolean;
    sendComments?: boolean;
    timeoutSeconds?: number;
    maxAttempts?: number;
    maxRepairs?: number;
    denylist?: string[];
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
    const llm = getLlmOptions(config);
    if (llm) {
        options.llm = llm;
    }
    return options;
}

/** The LLM settings, or undefined when no provider is chosen (the AI commands are then off). */
function getLlmOptions(config: WorkspaceConfiguration): LlmOptions | undefined {
    const provider = config.get<string>('llm.provider', '').trim();
    if (!provider) {
        return undefined;
    }
    const llm: LlmOptions = { provider };
    for (const key of ['model', 'baseUrl', 'apiKeyEnv'] as const) {
        const value = config.get<string>(`llm.${key}`, '').trim();
        if (value) {
            llm[key] = value;
        }
    }
    for (const key of ['sendSamples', 'sendComments'] as const) {
        const value = userSet<boolean>(config, `llm.${key}`);
        if (typeof value === 'boolean') {
            llm[key] = value;
        }
    }
    for (const key of ['timeoutSeconds', 'maxAttempts', 'maxRepairs'] as const) {
        const value = userSet<number>(config, `llm.${key}`);
        if (typeof value === 'number') {
            llm[key] = value; // the server checks the range and names the setting if it is wrong
        }
    }
    const denylist = nonEmptyStrings(config.get<string[]>('llm.denylist', []));
    if (denylist.length > 0) {
        llm.denylist = denylist;
    }
    return llm;
}

/** The value of `key` when the user set it (user, workspace or folder settings), else undefined. */
function userSet<T>(config: WorkspaceConfiguration, key: string): T | undefined {
    const found = config.inspect<T>(key);
    const set = [found?.workspaceFolderValue, found?.workspaceValue, found?.globalValue];
    return set.some((value) => value !== undefined) ? config.get<T>(key) : undefined;
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
    'llm',
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
