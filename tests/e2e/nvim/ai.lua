-- Driven by tests/e2e/test_ai.py: `nvim --headless --clean -u NONE -c 'luafile <this file>'`.
-- Reads its settings from the JSON file named by $CARTRIDGE_E2E_CONFIG, sets up editor-client/nvim with
-- LLM settings, runs `:CartridgePreviewPrompt <request>` and records the scratch buffer it opens, then
-- picks the "Ask AI for a model…" code action through vim.lsp.buf.code_action(), answers its input box,
-- saves every buffer, writes what happened to JSON and quits. Every wait is bounded.
local config = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('CARTRIDGE_E2E_CONFIG')), '\n'))

local function log(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local value = select(i, ...)
    parts[#parts + 1] = type(value) == 'string' and value or vim.inspect(value)
  end
  vim.fn.writefile(vim.split(table.concat(parts, ' '), '\n', { plain = true }), config.log_file, 'a')
end

local result = { messages = {}, edits = {}, asked = {}, titles = {} }

local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 50) then
    error(string.format('timed out after %d ms waiting for %s', timeout_ms, what))
  end
end

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
  observe('workspace/applyEdit', function(_, response)
    table.insert(result.edits, response)
  end)
  observe('window/showMessage', function(params)
    log('showMessage', params.message)
    table.insert(result.messages, params.message)
  end)
end

-- What a user does in the pickers: choose the action by its title, type the request.
local function answer_pickers()
  vim.ui.select = function(items, _, on_choice)
    for _, item in ipairs(items) do
      local action = item.action or item[2] -- 0.10+: { action, ctx }; before: { client_id, action }
      table.insert(result.titles, action.title)
      if action.title == config.action_title then
        return on_choice(item)
      end
    end
    on_choice(nil)
  end
  vim.ui.input = function(opts, on_confirm)
    table.insert(result.asked, opts.prompt)
    on_confirm(config.request)
  end
end

local function prompt_buffer()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(bufnr):match('^cartridge://prompt') then
      return bufnr
    end
  end
  return nil
end

local function main()
  vim.opt.runtimepath:prepend(config.plugin_dir)
  vim.cmd('filetype on')
  observe_server()
  answer_pickers()
  local cartridge = require('cartridge')
  cartridge.setup({ cmd = config.cmd, init_options = config.init_options })
  vim.cmd('edit ' .. vim.fn.fnameescape(config.open_file))
  local project_buffer = vim.api.nvim_get_current_buf()
  wait_for('the cartridge client to initialise', config.timeouts.initialize_ms, function()
    return cartridge.client(project_buffer) ~= nil
  end)

  vim.cmd('CartridgePreviewPrompt ' .. config.request)
  local shown
  wait_for('the prompt buffer', config.timeouts.command_ms, function()
    shown = prompt_buffer()
    return shown ~= nil
  end)
  result.prompt = {
    lines = vim.api.nvim_buf_get_lines(shown, 0, -1, false),
    buftype = vim.bo[shown].buftype,
    modifiable = vim.bo[shown].modifiable,
  }
  vim.cmd('close')

  vim.api.nvim_set_current_buf(project_buffer)
  vim.lsp.buf.code_action()
  wait_for('the edit of the AI model', config.timeouts.command_ms, function()
    return #result.edits > 0 or #result.messages > 0
  end)
  wait_for('the summary message', config.timeouts.request_ms, function()
    return #result.messages > 0
  end)
  vim.cmd('silent wall')
end

vim.defer_fn(function()
  log('watchdog: the script did not finish in time')
  vim.fn.writefile({ vim.fn.json_encode(result) }, config.result_file)
  vim.cmd('cquit')
end, config.timeouts.total_ms)

local ok, err = xpcall(main, debug.traceback)
if not ok then
  log('error:', err)
  result.error = err
end
vim.fn.writefile({ vim.fn.json_encode(result) }, config.result_file)
vim.cmd(ok and 'qall!' or 'cquit')
