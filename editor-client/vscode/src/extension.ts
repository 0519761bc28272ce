// A thin client: start the Cartridge language server, pass it the settings, restart it when they
// change. Every feature (code actions, diagnostics, the generated files) comes from the server.
//
// The server's palette commands (`cartridge.scanWarehouse`, `cartridge.generateStaging`,
// `cartridge.addTests`, `cartridge.documentColumns`, `cartridge.generateMarts`) are declared in
// package.json but deliberately not registered here: the server advertises them through
// `executeCommandProvider`, and vscode-languageclient registers a VS Code command of the same id
// that forwards to `workspace/executeCommand`. Registering them here as well would make
// `commands.registerCommand` throw "command already exists" and the client would fail to start.
// Run from the palette they carry no arguments; the middleware below tells the server where the
// user is (the active file and cursor line), and the server works out which model that is. For the AI
// commands it also asks for the request in an input box, and opens a previewed prompt (see ai.ts).
import * as path from 'path';
import { ExtensionContext, LogOutputChannel, Uri, commands, window, workspace } from 'vscode';
import {
    Executable,
    LanguageClient,
    LanguageClientOptions,
    RevealOutputChannelOn,
    State,
} from 'vscode-languageclient/node';
import { ASK_AI, PREVIEW_PROMPT, PromptDocuments, withRequest } from './ai';
import { onInterpreterChanged, selectedInterpreter } from './python';
import { SECTION, getInitOptions, getServerSettings, needsRestart } from './settings';

// The client id doubles as the settings prefix: the client reads `cartridge.trace.server` itself.
const CLIENT_ID = SECTION;
const CLIENT_NAME = 'Cartridge';
const RUNNING_CONTEXT_KEY = 'cartridge.serverRunning';
const PROJECT_GLOB = '**/dbt_project.yml';
const PROJECT_EXCLUDE = '**/{node_modules,dbt_packages,target,.venv,venv}/**';
// Commands that act where the user is: true when the server also wants the cursor's line.
const COMMANDS_IN_CONTEXT: Record<string, boolean> = {
    'cartridge.addTests': true,
    'cartridge.documentColumns': true,
    'cartridge.generateMarts': false,
    [ASK_AI]: false,
    [PREVIEW_PROMPT]: false,
};

let client: LanguageClient | undefined;
let output: LogOutputChannel | undefined;
let prompts: PromptDocuments | undefined;
// Restarts run one after another, so a burst of setting changes cannot start two servers.
let lifecycle: Promise<void> = Promise.resolve();

export async function activate(context: ExtensionContext): Promise<void> {
    output = window.createOutputChannel(CLIENT_NAME, { log: true });
    prompts = new PromptDocuments();
    context.subscriptions.push(
        output,
        prompts,
        commands.registerCommand('cartridge.restartServer', () => restartServer()),
        workspace.onDidChangeConfiguration((event) => {
            if (needsRestart(event)) {
                void restartServer();
            }
        }),
    );
    const interpreterWatch = await onInterpreterChanged(() => {
        const settings = getServerSettings();
        if (settings.command.length === 0 && settings.pythonPath === '') {
            void restartServer();
        }
    });
    if (interpreterWatch) {
        context.subscriptions.push(interpreterWatch);
    }
    await restartServer();
}

export function deactivate(): Promise<void> {
    lifecycle = lifecycle.then(stopServer, stopServer);
    return lifecycle;
}

function restartServer(): Promise<void> {
    const run = async () => {
        await stopServer();
        await startServer();
    };
    lifecycle = lifecycle.then(run, run);
    return lifecycle;
}

async function startServer(): Promise<void> {
    const projectRoot = await findProjectRoot();
    const executable = await serverExecutable(projectRoot);
    output?.info(`Starting: ${[executable.command, ...(executable.args ?? [])].join(' ')}`);
    const clientOptions: LanguageClientOptions = {
        documentSelector: [
            { scheme: 'file', language: 'sql' },
            { scheme: 'file', language: 'jinja-sql' },
            { scheme: 'file', language: 'yaml' },
        ],
        // A function, so the client's own restarts after a crash pick up the current settings.
        initializationOptions: () => getInitOptions(),
        outputChannel: output,
        traceOutputChannel: output,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        middleware: {
            executeCommand: async (command, args, next) => {
                const prepared = await withRequest(command, args.length > 0 ? args : whereTheUserIs(command));
                if (prepared === undefined) {
                    return undefined; // the user dismissed the input box
                }
                const result = await next(command, prepared);
                await prompts?.showResult(command, result);
                return result;
            },
        },
    };
    const newClient = new LanguageClient(CLIENT_ID, CLIENT_NAME, executable, clientOptions);
    newClient.onDidChangeState((event) => {
        void commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, event.newState === State.Running);
    });
    client = newClient;
    try {
        await newClient.start();
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        output?.error(`The language server did not start: ${reason}`);
        void window.showErrorMessage(
            `Cartridge: the language server did not start (${executable.command}): ${reason}. ` +
                'Check "cartridge.server.pythonPath" or "cartridge.server.command".',
        );
    }
}

async function stopServer(): Promise<void> {
    const oldClient = client;
    client = undefined;
    if (!oldClient) {
        return;
    }
    try {
        await oldClient.dispose();
    } catch (error) {
        // A server that already died cannot be stopped politely; the new one starts regardless.
        output?.warn(`Stopping the language server: ${String(error)}`);
    }
    await commands.executeCommand('setContext', RUNNING_CONTEXT_KEY, false);
}

/** The command that starts the server: the configured one, else `<python> -m cartridge_lsp`. */
async function serverExecutable(projectRoot: Uri | undefined): Promise<Executable> {
    const settings = getServerSettings();
    const argv =
        settings.command.length > 0
            ? settings.command
            : [
                  settings.pythonPath || (await selectedInterpreter(projectRoot)) || 'python3',
                  '-m',
                  'cartridge_lsp',
              ];
    const cwd = projectRoot?.fsPath ?? workspace.workspaceFolders?.[0]?.uri.fsPath;
    return { command: argv[0], args: argv.slice(1), options: cwd ? { cwd } : undefined };
}

/** The folder of the first dbt_project.yml in the workspace, if any. */
async function findProjectRoot(): Promise<Uri | undefined> {
    const found = await workspace.findFiles(PROJECT_GLOB, PROJECT_EXCLUDE, 1);
    return found.length > 0 ? Uri.file(path.dirname(found[0].fsPath)) : undefined;
}

/** For a command run from the palette: the active file (and cursor line) as its one argument. */
function whereTheUserIs(command: string): unknown[] {
    const editor = window.activeTextEditor;
    if (!editor || !(command in COMMANDS_IN_CONTEXT)) {
        return [];
    }
    const where: { uri: string; line?: number } = { uri: editor.document.uri.toString() };
    if (COMMANDS_IN_CONTEXT[command]) {
        where.line = editor.selection.active.line;
    }
    return [where];
}
