-- Cartridge language server, in the form Neovim 0.11+ reads from the runtimepath:
-- put this file in ~/.config/nvim/lsp/ (or any `lsp/` folder on the runtimepath) and run
-- `vim.lsp.enable('cartridge')`. Override fields with `vim.lsp.config('cartridge', {...})`, e.g.
--   init_options = { profilesDir = '~/.dbt', target = 'dev', schemas = { 'raw' }, replaceExisting = false,
--                    tests = { onFailure = 'warn' }, domain = 'sales',
--                    llm = { provider = 'openai', model = 'gpt-4.1-mini' } }   -- the AI commands
-- Unset init_options keys use the server's defaults. The API key is never a setting: it stays in the
-- environment variable `llm.apiKeyEnv` names (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY).
local ok, cartridge = pcall(require, 'cartridge') -- lua/cartridge.lua, when it is on the runtimepath too

return {
  cmd = { 'cartridge-lsp' },
  filetypes = { 'sql', 'yaml' },
  root_markers = { 'dbt_project.yml' },
  -- Neovim applies `documentChanges` (TextDocumentEdit, CreateFile, ...) but advertises only
  -- `resourceOperations`; say so, so that new models arrive as an undoable edit of buffers.
  capabilities = vim.tbl_deep_extend(
    'force',
    vim.lsp.protocol.make_client_capabilities(),
    { workspace = { workspaceEdit = { documentChanges = true } } }
  ),
  -- The "Ask AI for a model…" code action asks for the request before it runs (see lua/cartridge.lua).
  commands = ok and cartridge.client_commands() or nil,
}
