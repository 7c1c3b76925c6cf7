-- Settle a reservation: adjust each counter from the amount reserved to the
-- amount actually used (charge the difference, or refund it), and give back
-- concurrency slots.
--
-- KEYS[i]   counter i's key
-- ARGV[1]   the reservation's id
-- ARGV[2..] four per counter: kind, reserved, actual, field (the window
--           number charged, for "w")
--
-- A window or budget that expired since is left alone (its period is over),
-- and no count goes below zero. Returns the number of counters adjusted.
local id = ARGV[1]
local adjusted = 0
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
  local key, kind = KEYS[i], ARGV[base + 1]
  local reserved, actual = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local delta = actual - reserved
  if kind == 'w' then
    local field = ARGV[base + 4]
    if delta ~= 0 and redis.call('HEXISTS', key, field) == 1 then
      if redis.call('HINCRBY', key, field, delta) < 0 then
        redis.call('HSET', key, field, 0)
      end
      adjusted = adjusted + 1
    end
  elseif kind == 'b' then
    if delta ~= 0 and redis.call('EXISTS', key) == 1 then
      if redis.call('INCRBY', key, delta) < 0 then
        redis.call('SET', key, 0, 'KEEPTTL')
      end
      adjusted = adjusted + 1
    end
  elseif kind == 'c' then
    for j = 1, reserved do
      adjusted = adjusted + redis.call('ZREM', key, id .. '#' .. j)
    end
  end
end
return adjusted
