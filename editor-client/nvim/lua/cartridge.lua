-- Cartridge language server for Neovim.
--
--   require('cartridge').setup({ init_options = { target = 'dev' } })
--   require('cartridge').setup({ init_options = { llm = { provider = 'openai' } } })  -- AI commands on
--
-- On Neovim 0.11+ this is `vim.lsp.config` + `vim.lsp.enable`. On 0.7-0.10 an autocmd starts one
-- client per dbt project (the nearest folder holding dbt_project.yml) and attaches it to sql/yaml
-- buffers. Every feature comes from the server; this file only starts it and forwards commands (and,
-- for the AI commands, asks for the request and shows a previewed prompt in a scratch buffer).
local M = {}

local NAME = 'cartridge'
local COMMANDS = {
  CartridgeScanWarehouse = 'cartridge.scanWarehouse',
  CartridgeGenerateStaging = 'cartridge.generateStaging',
  CartridgeAddTests = 'cartridge.addTests',
  CartridgeDocumentColumns = 'cartridge.documentColumns',
  CartridgeGenerateMarts = 'cartridge.generateMarts',
}
-- Commands that act where the user is: the user command passes the buffer's URI, and (when true)
-- the cursor's line, so the server can tell which staging model is meant.
local IN_CONTEXT = {
  ['cartridge.addTests'] = true,
  ['cartridge.documentColumns'] = true,
  ['cartridge.generateMarts'] = false,
}
local ASK_AI = 'cartridge.askAi'
local PREVIEW_PROMPT = 'cartridge.previewPrompt'

--- Defaults of setup(); every key may be overridden. Other keys (on_init, on_exit, handlers,
--- settings, flags, ...) go to the client unchanged.
M.defaults = {
  cmd = { 'cartridge-lsp' },
  filetypes = { 'sql', 'yaml' },
  root_markers = { 'dbt_project.yml' },
  -- Keys the server reads: profilesDir, target, schemas, replaceExisting, tests = { onFailure },
  -- domain, llm = { provider, model, baseUrl, apiKeyEnv, sendSamples, sendComments, timeoutSeconds,
  -- maxAttempts, maxRepairs, denylist } (the API key only ever in the environment variable apiKeyEnv
  -- names). Left out (nil) rather than `{}` because Neovim encodes an empty Lua table as a JSON array.
  init_options = nil,
  capabilities = nil,
  on_attach = nil,
}

-- Neovim applies `documentChanges` (TextDocumentEdit, CreateFile, ...) but advertises only
-- `resourceOperations`; say so, so that new models arrive as an undoable edit of buffers.
local function client_capabilities(user_capabilities)
  return vim.tbl_deep_extend(
    'force',
    vim.lsp.protocol.make_client_capabilities(),
    user_capabilities or {},
    { workspace = { workspaceEdit = { documentChanges = true } } }
  )
end

local function notify(message, level)
  vim.notify('Cartridge: ' .. message, level or vim.log.levels.WARN)
end

-- Neovim 0.7-0.10 ---------------------------------------------------------------------------------

local clients_by_root = {}

local function find_root(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return nil
  end
  local dir = vim.fn.fnamemodify(name, ':p:h')
  while true do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

-- Neovim before 0.8 opens a created file without making its folder first, so a CreateFile for
-- models/staging/<schema>/ fails there (fixed upstream by neovim/neovim#19835).
local function apply_edit_making_folders(err, params, ctx, config)
  local changes = params and params.edit and params.edit.documentChanges or {}
  for _, change in ipairs(changes) do
    if change.kind == 'create' then
      vim.fn.mkdir(vim.fn.fnamemodify(vim.uri_to_fname(change.uri), ':h'), 'p')
    end
  end
  return vim.lsp.handlers['workspace/applyEdit'](err, params, ctx, config)
end

local function legacy_handlers(user_handlers)
  if vim.fn.has('nvim-0.8') == 1 then
    return user_handlers
  end
  return vim.tbl_extend('keep', user_handlers or {}, { ['workspace/applyEdit'] = apply_edit_making_folders })
end

local function client_for_root(root, config)
  local known = clients_by_root[root]
  local client = known and vim.lsp.get_client_by_id(known)
  if client and not client.is_stopped() then
    return known
  end
  local client_config = vim.tbl_extend('force', config, {
    name = NAME,
    root_dir = root,
    handlers = legacy_handlers(config.handlers),
  })
  client_config.filetypes, client_config.root_markers = nil, nil
  local ok, id = pcall(vim.lsp.start_client, client_config)
  if not ok or not id then
    notify(string.format('could not start %s: %s', table.concat(config.cmd, ' '), tostring(id)))
    return nil
  end
  clients_by_root[root] = id
  return id
end

local function attach(bufnr, config)
  if vim.bo[bufnr].buftype ~= '' then
    return
  end
  local root = find_root(bufnr, config.root_markers)
  if not root then
    return
  end
  local id = client_for_root(root, config)
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local function setup_legacy(config)
  local group = vim.api.nvim_create_augroup('cartridge_lsp', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.filetypes,
    callback = function(args)
      attach(args.buf, config)
    end,
  })
  -- Buffers opened before setup() ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
      attach(bufnr, config)
    end
  end
end

-- Neovim 0.11+ ------------------------------------------------------------------------------------

local function setup_modern(config)
  vim.lsp.config(NAME, config)
  vim.lsp.enable(NAME)
end

-- Commands ----------------------------------------------------------------------------------------

--- The Cartridge client attached to `bufnr`, or nil.
function M.client(bufnr)
  if vim.fn.has('nvim-0.8') == 1 then
    local get_clients = vim.lsp.get_clients or vim.lsp.get_active_clients
    return get_clients({ bufnr = bufnr, name = NAME })[1]
  end
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == NAME then
      return client
    end
  end
  return nil
end

local function on_command_done(err)
  if err then
    notify(err.message or tostring(err), vim.log.levels.ERROR)
  end
end

-- workspace/executeCommand straight to the server: no client-side command handler in between (the
-- AI commands have one, which calls this), and `on_result` gets the command's result.
local function request_command(client, command, arguments, bufnr, on_result)
  local params = { command = command, arguments = arguments }
  local function handler(err, result)
    on_command_done(err)
    if not err and on_result then
      on_result(result)
    end
  end
  if client.exec_cmd then -- 0.11+: client methods take `self`
    client:request('workspace/executeCommand', params, handler, bufnr)
  else
    client.request('workspace/executeCommand', params, handler, bufnr)
  end
end

--- Run a server command (e.g. 'cartridge.generateStaging') through the client attached to `bufnr`.
--- `arguments` is the command's argument list, e.g. { { schema = 'raw' } }; nil for none.
function M.execute(command, arguments, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = M.client(bufnr)
  if not client then
    notify('no language server is attached to this buffer (open a file inside a dbt project)')
    return
  end
  if client.exec_cmd then -- 0.11+: client methods take `self`
    local lsp_command = { title = command, command = command, arguments = arguments }
    client:exec_cmd(lsp_command, { bufnr = bufnr }, on_command_done)
  else
    local params = { command = command, arguments = arguments }
    client.request('workspace/executeCommand', params, on_command_done, bufnr)
  end
end

--- The argument list that tells the server where the user is, for commands that act there; else nil.
function M.arguments_here(command, bufnr)
  local with_line = IN_CONTEXT[command]
  if with_line == nil then
    return nil
  end
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local where = { uri = vim.uri_from_bufnr(bufnr) }
  if with_line and bufnr == vim.api.nvim_get_current_buf() then
    where.line = vim.api.nvim_win_get_cursor(0)[1] - 1
  end
  return { where }
end

-- AI commands ------------------------------------------------------------------------------------

local prompts_shown = 0

--- Show `text` (a previewed prompt) in a read-only scratch buffer in a new window.
function M.show_prompt(text)
  vim.cmd('new')
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'wipe'
  vim.bo[bufnr].swapfile = false
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, vim.split(text, '\n', { plain = true }))
  vim.bo[bufnr].modifiable = false
  prompts_shown = prompts_shown + 1
  pcall(vim.api.nvim_buf_set_name, bufnr, 'cartridge://prompt-' .. prompts_shown)
  return bufnr
end

local function trimmed(text)
  text = type(text) == 'string' and vim.trim(text) or ''
  return text ~= '' and text or nil
end

local function ask_ai(client, argument, bufnr)
  if trimmed(argument.request) then
    argument.request = trimmed(argument.request)
    request_command(client, ASK_AI, { argument }, bufnr)
    return
  end
  vim.ui.input({ prompt = 'Cartridge: the model to write, in plain words: ' }, function(text)
    if trimmed(text) then
      argument.request = trimmed(text)
      request_command(client, ASK_AI, { argument }, bufnr)
    end
  end)
end

local function preview_prompt(client, argument, bufnr)
  argument.request = trimmed(argument.request)
  request_command(client, PREVIEW_PROMPT, { argument }, bufnr, function(result)
    if type(result) == 'table' and type(result.prompt) == 'string' then
      M.show_prompt(result.prompt)
    end
  end)
end

local function attached_client(bufnr)
  local client = M.client(bufnr)
  if not client then
    notify('no language server is attached to this buffer (open a file inside a dbt project)')
  end
  return client
end

--- Ask the configured LLM for a model answering `request` (plain words); without one, ask for it.
function M.ask_ai(request, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = attached_client(bufnr)
  if client then
    ask_ai(client, { request = request, uri = vim.uri_from_bufnr(bufnr) }, bufnr)
  end
end

--- Show what the AI would be sent for `request` (nil: the staging prompt) in a scratch buffer.
function M.preview_prompt(request, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = attached_client(bufnr)
  if client then
    preview_prompt(client, { request = request, uri = vim.uri_from_bufnr(bufnr) }, bufnr)
  end
end

--- Client-side handlers of the AI commands, so the code action asks for the request first.
function M.client_commands()
  local function handler(run)
    return function(command, ctx)
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      local argument = (command.arguments or {})[1]
      run(client, type(argument) == 'table' and vim.deepcopy(argument) or {}, ctx.bufnr)
    end
  end
  return { [ASK_AI] = handler(ask_ai), [PREVIEW_PROMPT] = handler(preview_prompt) }
end

local function create_user_commands()
  for name, command in pairs(COMMANDS) do
    vim.api.nvim_create_user_command(name, function()
      M.execute(command, M.arguments_here(command, 0))
    end, { desc = 'Cartridge: ' .. command })
  end
  vim.api.nvim_create_user_command('CartridgeAskAi', function(args)
    M.ask_ai(args.args, 0)
  end, { nargs = '*', desc = 'Cartridge: ask AI for a model, e.g. :CartridgeAskAi revenue per month' })
  vim.api.nvim_create_user_command('CartridgePreviewPrompt', function(args)
    M.preview_prompt(args.args, 0)
  end, { nargs = '*', desc = 'Cartridge: show what the AI would be sent; nothing is sent' })
end

--- Start Cartridge for dbt projects: `opts` overrides M.defaults; other client keys pass through.
function M.setup(opts)
  local config = vim.tbl_extend('force', {}, M.defaults, opts or {})
  config.capabilities = client_capabilities(config.capabilities)
  config.commands = vim.tbl_extend('keep', config.commands or {}, M.client_commands())
  if vim.fn.has('nvim-0.11') == 1 then
    setup_modern(config)
  else
    setup_legacy(config)
  end
  create_user_commands()
end

return M
