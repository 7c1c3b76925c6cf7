-- Reserve amounts on several counters at once: all of them, or none; and
-- report every counter's count, so that the caller can tell what is left
-- without another round trip.
--
-- KEYS[i]   counter i's key
-- ARGV[1]   the reservation's id
-- ARGV[2]   "1" to reserve; "0" to read only (Peek): nothing is charged or
--           seeded, and the counts are as they stand
-- ARGV[3..] six per counter: kind, limit, amount, window (ms), slot lease
--           (ms), seed
--   kind "w": a sliding window; a hash of fixed windows (field: window
--             number) whose estimate is the previous window's count,
--             weighted by how much of it still overlaps, plus the current
--             one's
--   kind "b": a budget; a plain count, expiring window ms after it was
--             created (0: never). A seed above 0 creates the count at the
--             seed (SET NX, with that expiry) when the key does not exist,
--             before the check, whether or not the reservation is made: it
--             is what the ledger says was spent, not a charge
--   kind "c": concurrency; a sorted set of held slots, scored by the end
--             of their lease, so that a crashed holder's slots come back
--
-- Returns {ok, refused, retry_ms, field_1, used_1, reset_1, ...,
-- field_n, used_n, reset_n}: three values, then three per counter.
--   ok        1 when everything fit and was charged (read only: would fit)
--   refused   the first counter that had no room (0 when ok)
--   retry_ms  when refused, when its amount would fit if nothing else
--             changed: -1 never (the amount exceeds the limit, or a budget
--             without expiry is spent), 0 unknown (a slot frees when a
--             holder settles)
--   field_i   the window number charged for "w", 0 otherwise
--   used_i    the count after the charge (as it stands when refused or
--             read only): "w" the estimate the check uses, rounded up;
--             "b" the count; "c" the slots held
--   reset_i   ms until the counter is back to empty if nothing more is
--             charged: "w" (idx + 2) * window - now when the current
--             window holds anything (its count slides out over the next
--             window), else (idx + 1) * window - now when the previous
--             one does, else 0; "b" the key's remaining TTL, -1 without
--             one; "c" until the last lease ends, 0 without one
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, reserve = ARGV[1], ARGV[2] == '1'
local n = #KEYS

local function arg(i, j)
  return ARGV[2 + (i - 1) * 6 + j]
end

local fields, cur, prev, elapsed = {}, {}, {}, {}
local refused, retry = 0, 0

-- Check every counter (all of them: each one's count is returned).
for i = 1, n do
  local key, kind = KEYS[i], arg(i, 1)
  local limit, amount = tonumber(arg(i, 2)), tonumber(arg(i, 3))
  local win = tonumber(arg(i, 4))
  local wait = nil -- set when the counter refuses
  fields[i], prev[i], elapsed[i] = 0, 0, 0
  if kind == 'w' then
    local idx = math.floor(now / win)
    local el = now - idx * win
    local c = tonumber(redis.call('HGET', key, string.format('%d', idx)) or '0')
    local p = tonumber(redis.call('HGET', key, string.format('%d', idx - 1)) or '0')
    fields[i], cur[i], prev[i], elapsed[i] = idx, c, p, el
    if amount > limit then
      wait = -1
    elseif p * (win - el) / win + c + amount > limit then
      local r
      if c + amount <= limit then
        -- The previous window's share must shrink enough.
        r = (win - el) - (limit - c - amount) * win / p
      else
        -- Wait for the next window, then for this one's share to shrink.
        r = (win - el) + win * (1 - (limit - amount) / c)
      end
      wait = math.max(1, math.ceil(r))
    end
  elseif kind == 'b' then
    local seed = tonumber(arg(i, 6))
    if reserve and seed > 0 then
      if win > 0 then
        redis.call('SET', key, seed, 'PX', win, 'NX')
      else
        redis.call('SET', key, seed, 'NX')
      end
    end
    local c = tonumber(redis.call('GET', key) or '0')
    cur[i] = c
    if amount > limit then
      wait = -1
    elseif c + amount > limit then
      wait = redis.call('PTTL', key)
      if wait < 0 then wait = -1 end
    end
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local c = redis.call('ZCARD', key)
    cur[i] = c
    if amount > limit then
      wait = -1
    elseif c + amount > limit then
      wait = 0
    end
  else
    return redis.error_reply('unknown counter kind ' .. tostring(kind))
  end
  if wait ~= nil and refused == 0 then
    refused, retry = i, wait
  end
end

-- Everything fits: charge.
local charged = reserve and refused == 0
if charged then
  for i = 1, n do
    local key, kind = KEYS[i], arg(i, 1)
    local amount, win, lease = tonumber(arg(i, 3)), tonumber(arg(i, 4)), tonumber(arg(i, 5))
    cur[i] = cur[i] + amount
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
end

local out = {refused == 0 and 1 or 0, refused, retry}
for i = 1, n do
  local key, kind = KEYS[i], arg(i, 1)
  local win = tonumber(arg(i, 4))
  local used, reset = cur[i], 0
  if kind == 'w' then
    local idx = fields[i]
    -- The same estimate as the check's (and Memory's), in the same order.
    used = math.ceil(prev[i] * (win - elapsed[i]) / win + cur[i])
    if cur[i] > 0 then
      reset = (idx + 2) * win - now
    elseif prev[i] > 0 then
      reset = (idx + 1) * win - now
    end
  elseif kind == 'b' then
    reset = redis.call('PTTL', key)
    if reset < 0 then reset = -1 end
  else
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if last[2] then
      reset = math.max(tonumber(last[2]) - now, 0)
    end
  end
  out[3 + 3 * (i - 1) + 1] = fields[i]
  out[3 + 3 * (i - 1) + 2] = used
  out[3 + 3 * (i - 1) + 3] = reset
end
return out
