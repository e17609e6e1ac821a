set -u
R=$OUT/raw; mkdir -p $R $R/rev
node bench/experiments/matmul-variants/probe.mjs --tiles 128x128k16 --variants "now U,diag lean,diag noBB" --shapes-only "NN 8192×1024×256,NT 8192×1024×256,NN 8192×768×256,NN 16384×3072×768,NN 16384×768×3072,NN 4096×4096×4096" --out $R > $R/probe.log 2>&1
node bench/experiments/matmul-variants/probe.mjs --tiles 128x128k16 --variants "diag noBB,diag lean,now U" --shapes-only "NN 8192×1024×256,NT 8192×1024×256,NN 8192×768×256,NN 16384×3072×768,NN 16384×768×3072,NN 4096×4096×4096" --out $R/rev > $R/probe-rev.log 2>&1 || true
cd $R; grep -h -E "TFLOP|Error" probe.log probe-rev.log > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
