set -u
R=$OUT/raw; mkdir -p $R $R/k8
node bench/experiments/matmul-variants/probe.mjs --out $R --tiles 128x128k16 --variants "now U,now UP,diag noLDG,diag noSTS,diag noBAR,diag hot" --occupancy > $R/probe.log 2>&1
node bench/experiments/matmul-variants/probe.mjs --out $R/k8 --tiles 128x128k8 --variants "now U,now UP" --shapes-only "NN 8192×1024×256,NN 16384×3072×768" > $R/probe-k8.log 2>&1
grep -i "check\|TFLOP\|error\|diag" $R/probe.log $R/probe-k8.log > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
