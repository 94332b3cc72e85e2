--[[
  write-lww: writes one view's values for many entities, last-write-wins by freshness.

  KEYS[1..n]        the value keys, one per row, in write order (n at most 2000: MSET and
                    MSETNX take their arguments from `unpack`, which stops near 8000)
  ARGV[1]           flags: 'x' when the rows carry expiries (the view has a ttl), 'd' when a key
                    may appear more than once in KEYS, 'n' when the caller's own MSETNX of these
                    rows just failed (some key exists: do not try it again); e.g. '', 'x', 'xd', 'n'
  ARGV[2..n+1]      the encoded values (value-codec.ts); bytes 1-16 are the freshness prefix:
                    eventTs then createdTs, each 8 bytes big-endian in offset binary
  ARGV[n+2..2n+1]   with 'x': per row, milliseconds until the key may be garbage-collected, or
                    '0' for never
  Returns           the number of rows written; the others were older than the value they met

  Rows apply in order, as if written one at a time: a row replaces the stored value (or the one
  an earlier row of this call wrote to the same key) when its prefix is greater than or equal to
  it. Prefixes are compared as four unsigned 32-bit numbers, not with Lua's string `<`, which uses
  the server locale's strcoll. A stored value shorter than a prefix is not ours and is replaced.

  Cost: every redis.call converts its arguments, so values go out in as few calls as possible.
  Without expiry, repeated keys and 'n', a batch of keys that all are new (a first
  materialization) is one MSETNX; otherwise one MGET reads the stored values, and the winners go
  out in one MSET, or, with expiry, one SET ... PX each. (redis-store.ts sends most batches of new
  keys as a plain MSETNX without the script, which costs a fraction of this; 'n' marks the rest.)
]]
local n = #KEYS
local flags = ARGV[1]
local expiring = string.find(flags, 'x', 1, true) ~= nil
local latest = nil
if string.find(flags, 'd', 1, true) then latest = {} end

local all = nil
if not expiring and not latest and not string.find(flags, 'n', 1, true) then
  all = {}
  for i = 1, n do
    all[2 * i - 1] = KEYS[i]
    all[2 * i] = ARGV[i + 1]
  end
  if redis.call('MSETNX', unpack(all)) == 1 then return n end
end

local stored = redis.call('MGET', unpack(KEYS))
local unpack_prefix = struct.unpack
local written = 0
local pairs_, m = {}, 0

for i = 1, n do
  local new = ARGV[i + 1]
  local old = nil
  if latest then old = latest[KEYS[i]] end
  if old == nil then old = stored[i] end
  local newer = true
  if old and #old >= 16 then
    local n1, n2, n3, n4 = unpack_prefix('>I4I4I4I4', new)
    local o1, o2, o3, o4 = unpack_prefix('>I4I4I4I4', old)
    if n1 ~= o1 then newer = n1 > o1
    elseif n2 ~= o2 then newer = n2 > o2
    elseif n3 ~= o3 then newer = n3 > o3
    else newer = n4 >= o4 end
  end
  if newer then
    written = written + 1
    if latest then latest[KEYS[i]] = new end
    if expiring then
      local px = ARGV[n + i + 1]
      if px == '0' then
        redis.call('SET', KEYS[i], new)
      else
        redis.call('SET', KEYS[i], new, 'PX', px)
      end
    else
      pairs_[m + 1] = KEYS[i]
      pairs_[m + 2] = new
      m = m + 2
    end
  end
end

if m > 0 then
  if all and written == n then pairs_ = all end
  redis.call('MSET', unpack(pairs_, 1, m))
end

return written
