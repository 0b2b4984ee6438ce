-- wrk script for the load benchmark's writes (benches/load/run.py), one of three by GLOSS_WRITE:
--   login       POST /api/v1/auth/login, rotating GLOSS_LOGINS (comma-separated usernames) with
--               GLOSS_PASSWORD
--   reply       POST /api/v1/threads/{id}/posts, rotating GLOSS_TOKENS (access tokens) over
--               GLOSS_THREADS (thread ids)
--   annotation  POST /api/v1/posts/{id}/annotations (highlighting), rotating GLOSS_TOKENS over
--               GLOSS_TARGETS (post_id:word, the word found once in that post's text)
-- Prints the status counts when done, so that a run shows what the non-2xx answers were.
local function list(name)
  local out = {}
  for item in string.gmatch(os.getenv(name) or "", "[^,]+") do out[#out + 1] = item end
  return out
end

local mode = os.getenv("GLOSS_WRITE")
local tokens = list("GLOSS_TOKENS")
local logins = list("GLOSS_LOGINS")
local threads_ids = list("GLOSS_THREADS")
local targets = {}
for _, t in ipairs(list("GLOSS_TARGETS")) do
  local post, word = string.match(t, "^(%d+):(%a+)$")
  targets[#targets + 1] = { post = post, word = word }
end
local password = os.getenv("GLOSS_PASSWORD") or ""

local wrk_threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(wrk_threads, thread)
end

function init(args)
  statuses = {}
  -- each wrk thread starts at its own place in the rotation
  n = id * 7
end

local json = { ["Content-Type"] = "application/json" }

local function bearer(i)
  return {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1],
  }
end

function request()
  n = n + 1
  if mode == "login" then
    local who = logins[(n % #logins) + 1]
    return wrk.format("POST", "/api/v1/auth/login", json,
      '{"login": "' .. who .. '", "password": "' .. password .. '"}')
  elseif mode == "reply" then
    -- members and threads rotate at different strides, so that pairs vary
    local thread = threads_ids[((n * 5) % #threads_ids) + 1]
    return wrk.format("POST", "/api/v1/threads/" .. thread .. "/posts", bearer(n),
      '{"body": "A reply under load, number ' .. n .. ' of this connection group."}')
  else
    local t = targets[((n * 3) % #targets) + 1]
    return wrk.format("POST", "/api/v1/posts/" .. t.post .. "/annotations", bearer(n),
      '{"motivation": "highlighting", "selector": {"exact": "' .. t.word .. '"}}')
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(wrk_threads) do
    for status, count in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do parts[#parts + 1] = status .. "=" .. count end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
