// The client's part of the AI commands: the request in plain words comes from an input box, and a
// previewed prompt opens in a read-only document. The LLM, dbt's check and the edit are the server's.
import { Disposable, TextDocument, TextDocumentContentProvider, Uri, window, workspace } from 'vscode';
import { SECTION } from './settings';

export const ASK_AI = 'cartridge.askAi';
export const PREVIEW_PROMPT = 'cartridge.previewPrompt';
const PROMPT_SCHEME = 'cartridge-prompt';

/**
 * The command's arguments, with the request the user types added when an AI command has none;
 * undefined when the user dismissed the input box (the command is then not sent).
 */
export async function withRequest(command: string, args: unknown[]): Promise<unknown[] | undefined> {
    if (command !== ASK_AI && command !== PREVIEW_PROMPT) {
        return args;
    }
    const argument: Record<string, unknown> = isObject(args[0]) ? { ...args[0] } : {};
    if (typeof argument.request === 'string' && argument.request.trim() !== '') {
        return args;
    }
    // No provider: asking for a request first would only delay the server's "set a provider" message.
    if (!workspace.getConfiguration(SECTION).get<string>('llm.provider', '').trim()) {
        return args;
    }
    const request = await window.showInputBox(
        command === ASK_AI
            ? {
                  title: 'Cartridge: Ask AI for a model',
                  prompt: 'The model to write, in plain words. What the AI writes is checked with dbt first.',
                  placeHolder: 'monthly revenue per customer',
                  ignoreFocusOut: true,
                  validateInput: (text) => (text.trim() ? undefined : 'Say which model to write'),
              }
            : {
                  title: 'Cartridge: Preview the AI prompt (nothing is sent)',
                  prompt: 'A model request, in plain words; empty: the prompt for better staging names',
                  placeHolder: 'monthly revenue per customer',
                  ignoreFocusOut: true,
              },
    );
    if (request === undefined) {
        return undefined;
    }
    if (request.trim()) {
        argument.request = request.trim();
    }
    return [argument, ...args.slice(1)];
}

/** Read-only documents showing previewed prompts (documents of a content provider cannot be edited). */
export class PromptDocuments implements TextDocumentContentProvider, Disposable {
    private readonly texts = new Map<string, string>();
    private readonly disposables: Disposable[];
    private shown = 0;

    constructor() {
        this.disposables = [
            workspace.registerTextDocumentContentProvider(PROMPT_SCHEME, this),
            workspace.onDidCloseTextDocument((document: TextDocument) => {
                if (document.uri.scheme === PROMPT_SCHEME) {
                    this.texts.delete(document.uri.toString());
                }
            }),
        ];
    }

    provideTextDocumentContent(uri: Uri): string {
        return this.texts.get(uri.toString()) ?? '';
    }

    /** Open the prompt of a previewPrompt result, if the result holds one. */
    async showResult(command: string, result: unknown): Promise<void> {
        if (command !== PREVIEW_PROMPT || !isObject(result) || typeof result.prompt !== 'string') {
            return;
        }
        this.shown += 1;
        const uri = Uri.from({ scheme: PROMPT_SCHEME, path: `/Cartridge AI prompt ${this.shown}.txt` });
        this.texts.set(uri.toString(), result.prompt);
        const document = await workspace.openTextDocument(uri);
        await window.showTextDocument(document, { preview: false });
    }

    dispose(): void {
        this.disposables.forEach((d) => d.dispose());
        this.texts.clear();
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
