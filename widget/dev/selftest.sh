#!/bin/sh
# Browser interaction self-test: headless chromium runs dev/selftest.html (the bundled module with a
# static model and a fake kernel) and prints PASS/FAIL lines; exit status 1 on any failure.
here=$(cd "$(dirname "$0")" && pwd)
log=$(timeout -s KILL 150 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --allow-file-access-from-files \
  --enable-logging=stderr --v=0 --virtual-time-budget=60000 --window-size=1300,1000 \
  --screenshot=/tmp/exformer-selftest.png "file://$here/selftest.html" 2>&1 | grep -o 'selftest: [^"]*' | sed 's/^selftest: //')
echo "$log"
echo "$log" | grep -q '^DONE' || { echo "selftest did not finish"; exit 1; }
if echo "$log" | grep -q '^FAIL'; then exit 1; fi
echo "$(echo "$log" | grep -c '^PASS') checks passed"
