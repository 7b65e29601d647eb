#!/usr/bin/env bash
# Prints a TCP port on 127.0.0.1 that is free right now: the kernel picks it (bind to port 0), so
# two runs on one machine do not pick the same one.
set -euo pipefail

if command -v node >/dev/null 2>&1; then
  exec node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();});"
elif command -v python3 >/dev/null 2>&1; then
  exec python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1]);s.close()"
fi

# Last resort: probe random high ports until one refuses a connection.
for _ in $(seq 1 200); do
  port=$(( 20000 + RANDOM % 40000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$port"
    exit 0
  fi
done
echo "free-port.sh: no free port found" >&2
exit 1
