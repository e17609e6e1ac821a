set -u
R=$OUT/raw; mkdir -p $R $R/nr
V="now U,now UT,diag noLDG,diag noSTS"
node bench/experiments/matmul-variants/probe.mjs --out $R --tiles 128x128k16,128x128k8 --variants "$V" > $R/probe.log 2>&1
NOROBUST=1 node bench/experiments/matmul-variants/probe.mjs --out $R/nr --tiles 128x128k16,128x128k8 --variants "$V" > $R/probe-nr.log 2>&1
node bench/experiments/matmul-variants/probe.mjs --out $R --tiles 128x128k16 --variants "now U,now UT" > $R/probe2.log 2>&1
grep -i "check\|TFLOP\|error\|robust" $R/probe.log $R/probe-nr.log $R/probe2.log | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
