-- wrk script: POST the OSV queries of a file (one JSON body per line, written
-- by bench/osv.py) in turn, as pip-audit sends them (no Content-Type).
-- Usage: wrk -s bench/osv_query.lua URL/osv/v1/query -- BODIES_FILE
local bodies = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, nil, bodies[i])
end
