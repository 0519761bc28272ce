// Finds the interpreter selected in the Python extension, if that extension is installed.
// Only the few members used here are typed; the full API lives in @vscode/python-extension.
import { Disposable, Event, Uri, extensions } from 'vscode';

interface EnvironmentPath {
    readonly id: string;
    readonly path: string;
}

interface PythonEnvironmentsApi {
    getActiveEnvironmentPath(resource?: Uri): EnvironmentPath;
    resolveEnvironment(
        environment: EnvironmentPath | string,
    ): Promise<{ executable: { uri: Uri | undefined } } | undefined>;
    readonly onDidChangeActiveEnvironmentPath: Event<unknown>;
}

interface PythonExtensionApi {
    readonly environments?: PythonEnvironmentsApi;
}

const PYTHON_EXTENSION_ID = 'ms-python.python';

async function environmentsApi(): Promise<PythonEnvironmentsApi | undefined> {
    const extension = extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!extension) {
        return undefined;
    }
    const api = extension.isActive ? extension.exports : await extension.activate();
    return api?.environments;
}

/** The selected interpreter's executable, or undefined when the Python extension cannot tell. */
export async function selectedInterpreter(resource?: Uri): Promise<string | undefined> {
    try {
        const api = await environmentsApi();
        if (!api) {
            return undefined;
        }
        const environment = await api.resolveEnvironment(api.getActiveEnvironmentPath(resource));
        return environment?.executable.uri?.fsPath;
    } catch {
        // An older or broken Python extension must not stop Cartridge: fall back to python3.
        return undefined;
    }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onInterpreterChanged(listener: () => void): Promise<Disposable | undefined> {
    try {
        const api = await environmentsApi();
        return api?.onDidChangeActiveEnvironmentPath(() => listener());
    } catch {
        return undefined;
    }
}
