-- wrk script: POST /v1/events with a new event id every request, spread over 1,000 tickets.
-- An optional script argument (`-- TAG`) keeps ids apart when several wrk processes run at once.
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
  local texts = { "the site is down since this morning", "I want a refund for my last invoice",
                  "Kortet mitt er stjålet", "where is my parcel?" }
  local body = string.format(
    '{"id":"load-%s-%d-%d","type":"message.created","ticket":{"id":"T%d","channel":"email","customer":{"language":"en"}},"message":{"text":"%s"}}',
    tag, tid, n, n % 1000, texts[(n % #texts) + 1])
  return wrk.format("POST", "/v1/events", { ["Content-Type"] = "application/json" }, body)
end
