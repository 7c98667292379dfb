#!/usr/bin/env bash
# Times the data service's paged query (PostStore::Query in
# services/data/post_store.cc, pages of 512) over the default job's training
# posts, both sides of its validation holdout, once without the table's
# statistics (as right after an import, before autovacuum analyzes it) and
# once with them: one pass is what a vocabulary build or an encoding reads.
#
#   bench/scale/run.py --sizes 10 --leave-running     # prints the state directory
#   bench/scale/query_pages.sh STATE_DIR
#
# It changes the stack's database (statistics, autovacuum off for
# data.posts while it runs): use it on a stack left running for a look only.
set -euo pipefail
state=${1:?usage: query_pages.sh STATE_DIR (of a stack left running by run.py --leave-running)}
uri=$(cat "$state/pg/uri")
work=$(mktemp -d)
trap 'psql "$uri" -qAtc "ALTER TABLE data.posts RESET (autovacuum_enabled)" || true; rm -rf "$work"' EXIT

topics="'comp.graphics','comp.sys.mac.hardware','rec.autos','rec.sport.hockey','sci.med',"
topics+="'sci.space','talk.politics.guns','soc.religion.christian'"
# The default job's training posts; 1999999999999999 is HeldOutBound(0.1).
filter="category IN ($topics) AND (year BETWEEN 1922 AND 1953)"
# Autovacuum would analyze the table in the middle of the measurement.
psql "$uri" -qAtc "ALTER TABLE data.posts SET (autovacuum_enabled = false)"

for side in ">=" "<"; do
  where="$filter AND left(content_hash, 16) COLLATE \"C\" $side '1999999999999999'"
  # Each page starts after the last id of the one before, as the service's do.
  psql "$uri" -Atc "SELECT 0 UNION ALL SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
                    FROM data.posts WHERE $where) t WHERE n % 512 = 0" > "$work/cursors"
  while read -r cursor; do
    echo "SELECT id, category, year, source, content_hash, extract(epoch FROM imported_at), body" \
         "FROM data.posts WHERE $where AND id > $cursor ORDER BY id LIMIT 512;"
  done < "$work/cursors" > "$work/pages.sql"
  for statistics in without with; do
    if [ "$statistics" = without ]; then
      psql "$uri" -qAtc "DELETE FROM pg_statistic WHERE starelid = 'data.posts'::regclass"
    else
      psql "$uri" -qAtc "ANALYZE data.posts"
    fi
    psql "$uri" -Atf "$work/pages.sql" > /dev/null  # the same cache for both
    start=$(date +%s.%N)
    psql "$uri" -Atf "$work/pages.sql" > /dev/null
    end=$(date +%s.%N)
    printf "holdout side '%s': %4d pages %-7s statistics: %6.2f s\n" "$side" \
      "$(wc -l < "$work/cursors")" "$statistics" "$(echo "$end - $start" | bc)"
  done
done
