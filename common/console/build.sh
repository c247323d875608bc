#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build.sh OUT NODE_MODULES: the web console as the node serves it.  Copies
# the pages, scripts and styles to OUT with Apache ECharts from NODE_MODULES,
# and stamps the pages' references with a digest of the files
# (app.js?v=...), so that a browser keeps each file a day yet sees a new
# build at once.  Scripts and styles are compressed beside themselves
# (app.js.gz), which the node sends to a browser that takes gzip.
set -eu
out=$1
modules=$2
src=$(dirname "$0")
tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$src"/*.js "$src"/*.css "$src"/*.svg "$tmp"/
cp "$modules/echarts/dist/echarts.min.js" "$tmp"/
gzip -9 -n -k "$tmp"/*.js "$tmp"/*.css
version=$(cat "$tmp"/*.js "$tmp"/*.css "$src"/*.html | sha256sum | cut -c1-12)
for page in "$src"/*.html; do
	sed "s/@VERSION@/$version/g" "$page" > "$tmp/$(basename "$page")"
done
rm -rf "$out"
mv "$tmp" "$out"
