set -u
R=$OUT/raw; mkdir -p $R
SH="NN 8192×1024×256,NN 8192×1024×256 bias+gelu,NN 16384×3072×768 bias+gelu,NN 16384×3072×768 bias,NN 4096×4096×4096"
node bench/experiments/matmul-variants/probe.mjs --tiles 128x128k16 --variants "now U,now UG4" --epilogues --shapes-only "$SH" --out $R > $R/probe.log 2>&1
cd $R; grep -h -E "check|TFLOP|Error" probe.log > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
