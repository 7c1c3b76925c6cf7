-- Reserve amounts on several counters at once: all of them, or none.
--
-- KEYS[i]   counter i's key
-- ARGV[1]   the reservation's id
-- ARGV[2..] five per counter: kind, limit, amount, window (ms), slot lease (ms)
--   kind "w": a sliding window; a hash of fixed windows (field: window
--             number) whose estimate is the previous window's count,
--             weighted by how much of it still overlaps, plus the current
--             one's
--   kind "b": a budget; a plain count, expiring window ms after it was
--             created (0: never)
--   kind "c": concurrency; a sorted set of held slots, scored by the end
--             of their lease, so that a crashed holder's slots come back
--
-- Returns {1, 0, 0, field_1, ..., field_n} when everything fit (field_i is
-- the window number charged for "w", 0 otherwise), or {0, i, retry_ms}
-- when counter i refused: retry_ms is when the amount would fit if
-- nothing else changed, -1 never (the amount exceeds the limit, or a
-- budget without expiry is spent), 0 unknown (a slot frees when a holder
-- settles).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local n = #KEYS
local fields = {}

local function arg(i, j)
  return ARGV[1 + (i - 1) * 5 + j]
end

-- Check every counter first.
for i = 1, n do
  local key, kind = KEYS[i], arg(i, 1)
  local limit, amount = tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local win = tonumber(arg(i, 4))
  if amount > limit then
    return {0, i, -1}
  end
  if kind == 'w' then
    local idx = math.floor(now / win)
    local elapsed = now - idx * win
    local cur = tonumber(redis.call('HGET', key, string.format('%d', idx)) or '0')
    local prev = tonumber(redis.call('HGET', key, string.format('%d', idx - 1)) or '0')
    if prev * (win - elapsed) / win + cur + amount > limit then
      local retry
      if cur + amount <= limit then
        -- The previous window's share must shrink enough.
        retry = (win - elapsed) - (limit - cur - amount) * win / prev
      else
        -- Wait for the next window, then for this one's share to shrink.
        retry = (win - elapsed) + win * (1 - (limit - amount) / cur)
      end
      return {0, i, math.max(1, math.ceil(retry))}
    end
    fields[i] = idx
  elseif kind == 'b' then
    local cur = tonumber(redis.call('GET', key) or '0')
    if cur + amount > limit then
      local ttl = redis.call('PTTL', key)
      if ttl < 0 then ttl = -1 end
      return {0, i, ttl}
    end
    fields[i] = 0
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) + amount > limit then
      return {0, i, 0}
    end
    fields[i] = 0
  else
    return redis.error_reply('unknown counter kind ' .. tostring(kind))
  end
end

-- Everything fits: charge.
for i = 1, n do
  local key, kind = KEYS[i], arg(i, 1)
  local amount, win, lease = tonumber(arg(i, 3)), tonumber(arg(i, 4)), tonumber(arg(i, 5))
  if kind == 'w' then
    local idx = fields[i]
    if amount > 0 then
      redis.call('HINCRBY', key, string.format('%d', idx), amount)
    end
    -- Keep the current and previous windows only.
    for _, f in ipairs(redis.call('HKEYS', key)) do
      local k = tonumber(f)
      if k ~= idx and k ~= idx - 1 then
        redis.call('HDEL', key, f)
      end
    end
    redis.call('PEXPIRE', key, 2 * win)
  elseif kind == 'b' then
    if amount > 0 then
      redis.call('INCRBY', key, amount)
    end
    if win > 0 and redis.call('PTTL', key) == -1 then
      redis.call('PEXPIRE', key, win)
    end
  else
    for j = 1, amount do
      redis.call('ZADD', key, now + lease, id .. '#' .. j)
    end
    if amount > 0 then
      redis.call('PEXPIRE', key, lease)
    end
  end
end

local out = {1, 0, 0}
for i = 1, n do
  out[3 + i] = fields[i]
end
return out
