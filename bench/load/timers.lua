-- wrk script: POST /v1/events, a new ticket every request (with the pack of timers.sh, each
-- starts one timer). `-- TAG` keeps ids apart when several wrk processes run at once.
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

local tag = "0"
init = function(args)
  tag = args[1] or "0"
end

local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"id":"tc-%s-%d-%d","type":"ticket.created","ticket":{"id":"TT-%s-%d-%d","channel":"email"}}',
    tag, tid, n, tag, tid, n)
  return wrk.format("POST", "/v1/events", { ["Content-Type"] = "application/json" }, body)
end
