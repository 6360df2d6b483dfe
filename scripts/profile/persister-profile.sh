#!/bin/bash
# The persister's CPU per issue, on a drain (docs/profile.md, "2026-12-04: the persister").
# Usage: npm run build, then scripts/profile/persister-profile.sh (needs wrk, redis-cli, mysql, bc).
#   DIR=<another checkout> measures that build; W=2 drains with two workers; PROF=1 adds a CPU
#   profile of the draining process, summarised over every slice; DUR=10 burst seconds.
# A WORKERS=1 PERSISTER=off service takes a wrk burst on a 400,000-code campaign (its issues stay on
# the stream); then a PERSISTER=only process drains them. CPU of that process (start-up included),
# of mariadbd and of redis-server from its start until the stream is empty, divided by the issues.
HERE=$(cd "$(dirname "$0")" && pwd); cd ${DIR:-$HERE/../..}
PORT=18082
mysql -uroot -e "DROP DATABASE IF EXISTS coupons_pp" 2>/dev/null
redis-cli --scan --pattern 'pp:*' | xargs -r redis-cli del >/dev/null
ENVS="PORT=$PORT HOST=127.0.0.1 DATABASE_URL=mysql://root@127.0.0.1:3306/coupons_pp REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=pp: LOG_LEVEL=warn ADMIN_API_KEY= WORKERS=${W:-1}"
env $ENVS PERSISTER=off node dist/src/main.js > /tmp/pp-service.log 2>&1 &
SVC=$!
for i in $(seq 100); do curl -s localhost:$PORT/healthz >/dev/null && break; sleep 0.3; done
CID=$(curl -s -XPOST localhost:$PORT/couponpb.CouponService/CreateCampaign -H 'content-type: application/json' -d '{"name":"pp","startTime":"2026-01-01T00:00:00Z","totalCoupons":"400000"}' | sed 's/.*"campaignId":"\([0-9]*\)".*/\1/')
for i in $(seq 300); do s=$(curl -s -XPOST localhost:$PORT/couponpb.CouponService/GetCampaign -H 'content-type: application/json' -d "{\"campaignId\":\"$CID\",\"omitCodes\":true}" | grep -o '"state":"[A-Z_]*"'); [[ "$s" != *LOADING* && -n "$s" ]] && break; sleep 0.5; done
CID=$CID wrk -t2 -c100 -d${DUR:-10}s -s $HERE/issue.lua http://127.0.0.1:$PORT | grep -E "Requests/sec"
kill $SVC; wait $SVC
STREAM=$(redis-cli --scan --pattern 'pp:*' | grep -E "stream$" | head -1)
N=$(redis-cli xlen "$STREAM"); echo "stream $STREAM: $N issues to drain"
rm -rf /tmp/pprof; mkdir -p /tmp/pprof
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
MPID=$(pgrep -x mariadbd); RPID=$(pgrep -x redis-server | head -1)
m0=$(cpu $MPID); r0=$(cpu $RPID); t0=$(date +%s%N)
env $ENVS PERSISTER=only node ${PROF:+--cpu-prof --cpu-prof-dir=/tmp/pprof} dist/src/main.js > /tmp/pp-only.log 2>&1 &
SVC=$!
while [[ "$(redis-cli xlen "$STREAM")" != 0 ]]; do sleep 0.05; done
t1=$(date +%s%N); m1=$(cpu $MPID); r1=$(cpu $RPID)
own=$(for p in $SVC $(pgrep -P $SVC); do cpu $p; done | paste -sd+ | bc)
kill $SVC; wait $SVC
rows=$(mysql -uroot -N -e "select count(*) from coupons_pp.coupon_issues")
per() { echo "scale=1; $1 * 10000 / $N" | bc; }
echo "$rows owners in MySQL, drained in $(( (t1 - t0) / 1000000 )) ms; CPU per issue, µs: persister $(per $own) (start-up included), MariaDB $(per $((m1 - m0))), Redis $(per $((r1 - r0)))"
mysql -uroot -e "DROP DATABASE IF EXISTS coupons_pp" 2>/dev/null
redis-cli --scan --pattern 'pp:*' | xargs -r redis-cli del >/dev/null
[[ -n "$PROF" ]] && MAXIDLE=1.01 node $HERE/summarize.mjs /tmp/pprof/*.cpuprofile | head -${LINES_:-50}
exit 0
