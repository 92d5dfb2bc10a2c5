#!/bin/sh
# Screenshot the dev demo with headless chromium: dev/shot.sh OUT.png 'query' [WxH]
# e.g. dev/shot.sh /tmp/x.png 'kind=causal_lm&view=matrix' 1200,900
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/exformer.png}
q=${2:-}
size=${3:-1200,900}
exec timeout -s KILL 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --allow-file-access-from-files \
  --hide-scrollbars --virtual-time-budget=3000 \
  --screenshot="$out" --window-size="$size" "file://$here/demo.html?$q" 2>/dev/null
