-- wrk script: replies to one thread from several members, round robin.
-- Environment: GLOSS_TOKENS (comma-separated access tokens), GLOSS_THREAD (thread id).
local tokens = {}
for t in string.gmatch(os.getenv("GLOSS_TOKENS"), "[^,]+") do tokens[#tokens + 1] = t end
local path = "/api/v1/threads/" .. os.getenv("GLOSS_THREAD") .. "/posts"
local threads = {}
local n = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function request()
  n = n + 1
  local token = tokens[(n % #tokens) + 1]
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"body": "A reply under load, @member0 take note."}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do parts[#parts + 1] = status .. "=" .. count end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("p50_ms: %.1f p99_ms: %.1f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
