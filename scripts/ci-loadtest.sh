#!/usr/bin/env bash
# CI's short load test: builds once, starts the production build of the service in a database and
# Redis prefix of its own on a free port, runs small seed, burst, boundary and multi scenarios,
# and turns each verdict into tmp/ci/loadtest-<name>.json for scripts/ci-summary.mjs. Fails on an
# integrity violation (or a run that could not happen), never on speed. About half a minute.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tmp/ci/loadtest
rm -f tmp/ci/loadtest/*.json tmp/ci/loadtest-*.json

# Per run: two CI runs on one machine must not drop each other's database.
DATABASE="coupons_ci_load_$$"
PREFIX="ci-load:$$:"
SERVICE_PID=""
failed=0

cleanup() {
  if [ -n "$SERVICE_PID" ]; then
    kill -TERM "$SERVICE_PID" 2>/dev/null
    wait "$SERVICE_PID" 2>/dev/null
  fi
  mariadb -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $DATABASE" >/dev/null 2>&1
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "${PREFIX}*" | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 unlink >/dev/null
}
trap cleanup EXIT

# A run that cannot happen at all still leaves a failed entry for the summary.
fail_all() {
  echo "ci-loadtest: $1" >&2
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({numPassedTests:0,numFailedTests:1,testResults:[]}))' tmp/ci/loadtest-setup.json
  exit 1
}

echo "== loadtest: build"
npm run build >tmp/ci/loadtest/build.log 2>&1 || { cat tmp/ci/loadtest/build.log; fail_all "npm run build failed"; }

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL="http://127.0.0.1:$PORT"
mariadb -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $DATABASE" || fail_all "MariaDB is not reachable"
PORT=$PORT HOST=127.0.0.1 DATABASE_URL="mysql://root@127.0.0.1:3306/$DATABASE" REDIS_KEY_PREFIX="$PREFIX" LOG_LEVEL=warn ADMIN_API_KEY= \
  node dist/src/main.js >tmp/ci/loadtest/service.log 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 120); do
  curl -fs "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVICE_PID" 2>/dev/null || { cat tmp/ci/loadtest/service.log; fail_all "the service exited at start"; }
  sleep 0.5
done
curl -fs "$URL/healthz" >/dev/null 2>&1 || fail_all "the service did not answer on $URL within 60 s"

run() { # name, flags...
  local name=$1
  shift
  echo "== loadtest $name: $*"
  node dist/scripts/loadtest/cli.js --url "$URL" --json "tmp/ci/loadtest/$name.json" "$@"
  local code=$?
  node dist/scripts/loadtest/ci-verdict.js "$name" "tmp/ci/loadtest/$name.json" "tmp/ci/loadtest-$name.json" "$code" || failed=1
  [ "$code" -eq 0 ] || failed=1
}

run seed --scenario seed --coupons 4000 --calls 2000 --duration 2
run burst --scenario burst --coupons 2000 --calls 3000 --concurrency 64
run boundary --scenario boundary --coupons 5 --calls 400 --duration 2 --lead 2
run multi --scenario multi --campaigns 3 --coupons 500 --calls 2000 --concurrency 64
exit $failed
