-- Cartridge language server, in the form Neovim 0.11+ reads from the runtimepath:
-- put this file in ~/.config/nvim/lsp/ (or any `lsp/` folder on the runtimepath) and run
-- `vim.lsp.enable('cartridge')`. Override fields with `vim.lsp.config('cartridge', {...})`, e.g.
--   init_options = { profilesDir = '~/.dbt', target = 'dev', schemas = { 'raw' }, replaceExisting = false,
--                    tests = { onFailure = 'warn' }, domain = 'sales' }
-- Unset init_options keys use the server's defaults.
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
}
