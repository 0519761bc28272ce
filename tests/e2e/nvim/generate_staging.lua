-- Driven by tests/e2e/test_nvim.py: `nvim --headless --clean -u NONE -c 'luafile <this file>'`.
-- Reads its settings from the JSON file named by $CARTRIDGE_E2E_CONFIG, sets up editor-client/nvim,
-- opens a file of the dbt project, asks the server for code actions, runs the "generate staging"
-- action's command, saves every buffer, writes what happened to JSON and quits. Every wait is
-- bounded; errors and server messages go to the log file the test shows when it fails.
local config = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('CARTRIDGE_E2E_CONFIG')), '\n'))

local function log(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local value = select(i, ...)
    parts[#parts + 1] = type(value) == 'string' and value or vim.inspect(value)
  end
  vim.fn.writefile(vim.split(table.concat(parts, ' '), '\n', { plain = true }), config.log_file, 'a')
end

local function write_json(path, value)
  vim.fn.writefile({ vim.fn.json_encode(value) }, path)
end

local result = { titles = {}, titles_after = {}, edits = {}, created = {}, messages = {}, diagnostics = {} }

local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 50) then
    error(string.format('timed out after %d ms waiting for %s', timeout_ms, what))
  end
end

-- Record what the server sends, then let Neovim's own handlers do the work.
local function observe(method, record)
  local default = vim.lsp.handlers[method]
  vim.lsp.handlers[method] = function(err, params, ctx, handler_config)
    local response = default(err, params, ctx, handler_config)
    record(params, response)
    return response
  end
end

local function observe_server()
  vim.notify = function(message, level)
    log('notify', level, message)
  end
  observe('workspace/applyEdit', function(params, response)
    log('applyEdit ->', response)
    table.insert(result.edits, response)
    for _, change in ipairs(params.edit.documentChanges or {}) do
      if change.kind == 'create' then
        table.insert(result.created, vim.uri_to_fname(change.uri))
      end
    end
  end)
  observe('window/showMessage', function(params)
    log('showMessage', params.message)
    table.insert(result.messages, params.message)
  end)
  observe('window/logMessage', function(params)
    log('logMessage', params.message)
  end)
  observe('textDocument/publishDiagnostics', function(params)
    result.diagnostics[params.uri] = vim.tbl_map(function(d)
      return d.message
    end, params.diagnostics)
  end)
end

local function request(client, bufnr, method, params, timeout_ms)
  local reply
  local function on_reply(err, res)
    reply = { err = err, result = res }
  end
  -- Client methods take `self` from 0.11 on; before that they are plain functions.
  if vim.fn.has('nvim-0.11') == 1 then
    client:request(method, params, on_reply, bufnr)
  else
    client.request(method, params, on_reply, bufnr)
  end
  wait_for(method, timeout_ms, function()
    return reply ~= nil
  end)
  return reply
end

local function code_actions(client, bufnr)
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local reply = request(client, bufnr, 'textDocument/codeAction', params, config.timeouts.request_ms)
  if reply.err then
    error('textDocument/codeAction failed: ' .. vim.inspect(reply.err))
  end
  return reply.result or {}
end

local function find_action(actions, title)
  for _, action in ipairs(actions) do
    if action.title == title then
      return action
    end
  end
  return nil
end

local function main()
  vim.opt.runtimepath:prepend(config.plugin_dir)
  require('vim.lsp.log').set_level('debug')
  vim.cmd('filetype on')
  observe_server()
  local cartridge = require('cartridge')
  local exit_code
  cartridge.setup({
    cmd = config.cmd,
    on_exit = function(code)
      exit_code = code
    end,
  })
  vim.cmd('edit ' .. vim.fn.fnameescape(config.open_file))
  local bufnr = vim.api.nvim_get_current_buf()

  -- setup()'s FileType autocmd has started the client; it counts as attached once initialised.
  local client
  wait_for('the cartridge client to initialise', config.timeouts.initialize_ms, function()
    client = cartridge.client(bufnr)
    return client ~= nil or exit_code ~= nil
  end)
  if not client then
    error(string.format('the language server exited with code %s before initialising', exit_code))
  end

  local actions = code_actions(client, bufnr)
  result.titles = vim.tbl_map(function(action)
    return action.title
  end, actions)
  write_json(config.titles_file, result.titles)
  local action = find_action(actions, config.action_title)
  if not action then
    error('no code action titled ' .. config.action_title)
  end

  -- A CodeAction carries its Command in `.command`; a bare Command is its own command.
  local command = type(action.command) == 'table' and action.command or action
  result.command = { command = command.command, arguments = command.arguments }
  local reply = request(client, bufnr, 'workspace/executeCommand', result.command, config.timeouts.command_ms)
  result.command_error = reply.err
  if not reply.err then
    wait_for('workspace/applyEdit', config.timeouts.request_ms, function()
      return #result.edits > 0
    end)
  end
  vim.cmd('silent wall')
  -- The session has scanned now, so per-schema actions are offered too.
  result.titles_after = vim.tbl_map(function(action)
    return action.title
  end, code_actions(client, bufnr))
end

vim.defer_fn(function()
  log('watchdog: the script did not finish in time')
  write_json(config.result_file, result)
  vim.cmd('cquit')
end, config.timeouts.total_ms)

local ok, err = xpcall(main, debug.traceback)
if not ok then
  log('error:', err)
  result.error = err
end
write_json(config.result_file, result)
vim.cmd(ok and 'qall!' or 'cquit')
