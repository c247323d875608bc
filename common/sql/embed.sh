#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Compiles numbered SQL migrations into a C array, so a daemon always carries
# the schema it was built for.  Usage: embed.sh SYMBOL NNN_name.sql... > out.c
# Files are taken in the order of their number, whatever folder they are in.
set -eu
symbol=$1
shift
printf '/* Generated from SQL migrations; do not edit. */\n'
printf '#include "db.h"\n\n'
printf 'const struct migration %s[] = {\n' "$symbol"
for f in $(for f in "$@"; do echo "$(basename "$f") $f"; done | sort | cut -d' ' -f2); do
    base=$(basename "$f" .sql)
    version=$(echo "$base" | sed 's/_.*//; s/^0*//')
    name=$(echo "$base" | sed 's/^[0-9]*_//')
    printf '    {%s, "%s",\n' "$version" "$name"
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/     "/' -e 's/$/\\n"/' "$f"
    printf '    },\n'
done
printf '};\n\nconst size_t %s_len = sizeof(%s) / sizeof(%s[0]);\n' "$symbol" "$symbol" "$symbol"
