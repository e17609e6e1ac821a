set -u
R=$OUT/raw; mkdir -p $R
node bench/experiments/matmul-variants/probe.mjs --out $R --tiles 128x128k16 --variants "now U,now UD" --epilogues --shapes-only "NN 8192×1024×256,NT 8192×1024×256,NN 8192×1024×256 bias+gelu,NT 8192×1024×256 geluGrad,NN 16384×3072×768,NN 16384×3072×768 bias,NN 16384×3072×768 bias+gelu,NT 16384×3072×768,NT 16384×3072×768 geluGrad,NN 16384×768×3072,NN 16384×768×3072 bias+residual" > $R/probe.log 2>&1
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx"
node bench.mjs --sweep-only --steps 30 --trials 5 --warmup 10 --rs 1,8,64 --driver --driver-steps 300 $D --out $R/sweep30.json > $R/sweep30.txt 2>&1
cd $R
{ echo "== probe"; grep -v "^ -\|^\[" probe.log | grep -i "check\|TFLOP\|error" ; echo "== sweeps"; grep -A2 "sweep R=" sweep30.txt; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
