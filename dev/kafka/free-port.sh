#!/usr/bin/env bash
# Prints TCP ports on 127.0.0.1 that are free right now, one a line: the kernel picks them (bind to
# port 0), so two runs on one machine do not pick the same one.
#
#   dev/kafka/free-port.sh [COUNT]      # COUNT (default 1) distinct ports
#
# All COUNT sockets are held open until every port is known, so the ports are distinct: asking
# for them one at a time lets the kernel hand the same just-closed port out twice.
set -euo pipefail

count="${1:-1}"
if ! [[ "$count" =~ ^[1-9][0-9]?$ ]]; then
  echo "free-port.sh: COUNT must be 1 to 99, not: $count" >&2
  exit 2
fi

if command -v node >/dev/null 2>&1; then
  exec node -e "
    const net = require('net');
    const n = Number(process.argv[1]);
    const servers = [];
    const next = () => {
      if (servers.length === n) {
        console.log(servers.map((s) => s.address().port).join('\n'));
        for (const s of servers) s.close();
        return;
      }
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => { servers.push(s); next(); });
    };
    next();" "$count"
elif command -v python3 >/dev/null 2>&1; then
  exec python3 -c "
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); socks.append(s)
print('\n'.join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()" "$count"
fi

# Last resort: probe random high ports until COUNT distinct ones refuse a connection.
picked=()
for _ in $(seq 1 400); do
  port=$(( 20000 + RANDOM % 40000 ))
  if [[ " ${picked[*]-} " == *" $port "* ]]; then continue; fi
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    picked+=("$port")
    if (( ${#picked[@]} == count )); then
      printf '%s\n' "${picked[@]}"
      exit 0
    fi
  fi
done
echo "free-port.sh: no $count free ports found" >&2
exit 1
