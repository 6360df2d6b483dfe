#!/bin/bash
# Usage: npm run build, then scripts/profile/issue-profile.sh (needs wrk; DIR=<another checkout> profiles that build).
# Writes the summary of /tmp/prof/*.cpuprofile (self time by package, then by function).
# profile one worker (WORKERS=1, PERSISTER=off) under wrk only: the campaign is created by a first run
HERE=$(cd "$(dirname "$0")" && pwd); cd ${DIR:-$HERE/../..}
PORT=18081
mysql -uroot -e "DROP DATABASE IF EXISTS coupons_qp" 2>/dev/null
redis-cli --scan --pattern 'qp:*' | xargs -r redis-cli del >/dev/null
ENVS="PORT=$PORT HOST=127.0.0.1 DATABASE_URL=mysql://root@127.0.0.1:3306/coupons_qp REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=qp: LOG_LEVEL=warn ADMIN_API_KEY= WORKERS=1 PERSISTER=off"
env $ENVS node dist/src/main.js > /tmp/qp-service.log 2>&1 &
SVC=$!
for i in $(seq 100); do curl -s localhost:$PORT/healthz >/dev/null && break; sleep 0.3; done
CID=$(curl -s -XPOST localhost:$PORT/couponpb.CouponService/CreateCampaign -H 'content-type: application/json' -d "{\"name\":\"qp\",\"startTime\":\"2026-01-01T00:00:00Z\",\"totalCoupons\":\"${TOTAL:-400000}\"}" | sed 's/.*"campaignId":"\([0-9]*\)".*/\1/')
for i in $(seq 300); do s=$(curl -s -XPOST localhost:$PORT/couponpb.CouponService/GetCampaign -H 'content-type: application/json' -d "{\"campaignId\":\"$CID\",\"omitCodes\":true}" | grep -o '"state":"[A-Z_]*"'); [[ "$s" != *LOADING* && -n "$s" ]] && break; sleep 0.5; done
kill $SVC; wait $SVC
rm -rf /tmp/prof; mkdir -p /tmp/prof
env $ENVS node --cpu-prof --cpu-prof-dir=/tmp/prof dist/src/main.js > /tmp/qp-service.log 2>&1 &
SVC=$!
for i in $(seq 100); do curl -s localhost:$PORT/healthz >/dev/null && break; sleep 0.3; done
CID=$CID wrk -t2 -c100 -d${DUR:-8}s -s $HERE/issue.lua http://127.0.0.1:$PORT --latency | grep -E "Requests/sec|  99%|Non-2xx"
kill $SVC; wait $SVC
sleep 1
MAXIDLE=${MAXIDLE:-0.3} node $HERE/summarize.mjs /tmp/prof/*.cpuprofile | head -${LINES_:-70}
