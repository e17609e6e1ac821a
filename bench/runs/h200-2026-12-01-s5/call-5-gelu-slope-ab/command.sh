set -u
R=$OUT/raw; mkdir -p $R
node bench/experiments/matmul-variants/probe.mjs --out $R --tiles 128x128k16 --variants "now U" --epilogues --shapes-only "NN 8192×1024×256,NT 8192×1024×256,NN 8192×1024×256 bias+gelu,NT 8192×1024×256 geluGrad,NN 16384×3072×768 bias,NN 16384×3072×768 bias+gelu,NT 16384×3072×768,NT 16384×3072×768 geluGrad" > $R/probe.log 2>&1
cd .work
for d in bench-a bench-b; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"
(cd bench-b && node bench.mjs --skip-kernels --rs 8 $D --steps 10 --trials 2 --warmup 3 --out $R/check-b.json > $R/check-b.txt 2>&1)
for i in 1 2; do for d in bench-a bench-b; do
 (cd $d && node bench.mjs --sweep-only --steps 60 --trials 5 --warmup 10 --rs 1,8,64 $D --out $R/$d-lab-$i.json > $R/$d-lab-$i.txt 2>&1)
done; done
for d in bench-a bench-b; do
 (cd $d && node bench.mjs --sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --out $R/$d-gpt2.json > $R/$d-gpt2.txt 2>&1)
done
cd $R
{ echo "== probe"; grep -v "^ -\|^\[" probe.log | grep -i "check\|TFLOP\|error"; echo "== check b"; grep -A3 "First 8" check-b.txt; echo "== sweeps"; grep "sweep R=" bench-*.txt; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
