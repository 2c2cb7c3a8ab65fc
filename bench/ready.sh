#!/bin/bash
# Measures how long weft serve takes to be ready (/readyz 200).
# usage: WEFT=./weft CONFIG=examples/weft.yaml bench/ready.sh CACHE_DIR PORT → ms until /readyz is 200
cache=$1; port=$2
WEFT_CACHE_DIR=$cache ${WEFT:-./weft} serve --config ${CONFIG:-examples/weft.yaml} --addr 127.0.0.1:$port >/tmp/ready.$port.log 2>&1 &
pid=$!
s=$(date +%s%N)
for i in $(seq 2000); do
  c=$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$port/readyz)
  [ "$c" = 200 ] && break
  sleep 0.01
done
e=$(date +%s%N)
echo $(( (e-s)/1000000 ))
kill -TERM $pid; wait $pid
