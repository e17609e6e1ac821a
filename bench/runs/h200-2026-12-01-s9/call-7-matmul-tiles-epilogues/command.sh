set -u
R=$OUT/raw; mkdir -p $R
SH="NN 8192×1024×256,NN 8192×1024×256 bias+gelu,NT 8192×1024×256,NT 8192×1024×256 geluGrad,NN 16384×3072×768 bias,NN 16384×3072×768 bias+gelu,NT 16384×3072×768,NT 16384×3072×768 geluGrad,NN 16384×768×3072 bias+residual"
node bench/experiments/matmul-variants/probe.mjs --tiles 128x128k16,128x128k8,128x128k32,128x64k16 --variants "now U" --epilogues --shapes-only "$SH" --out $R > $R/probe.log 2>&1
cd $R; grep -h -E "check|TFLOP|Error|skipped" probe.log > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
