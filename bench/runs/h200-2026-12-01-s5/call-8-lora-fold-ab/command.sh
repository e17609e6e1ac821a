set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-a bench-b; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"
(cd bench-b && node bench.mjs --skip-kernels --rs 8 $D --steps 10 --trials 2 --warmup 3 --out $R/check-b.json > $R/check-b.txt 2>&1)
(cd bench-b && node bench.mjs --list-dispatches --rs 1,8 $D > $R/dispatches-b.txt 2>&1)
for i in 1 2; do for d in bench-a bench-b; do
 (cd $d && node bench.mjs --sweep-only --steps 120 --trials 3 --warmup 10 --rs 1,8,64 $D --out $R/$d-lab-$i.json > $R/$d-lab-$i.txt 2>&1)
done; done
for d in bench-a bench-b bench-a bench-b; do
 (cd $d && node bench.mjs --sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt --out $R/$d-gpt2.json >> $R/$d-gpt2.txt 2>&1)
done
cd $R
{ echo "== check b"; grep -A3 "First 8" check-b.txt; grep "dispatches$\|^R = " dispatches-b.txt; echo "== sweeps"; grep "sweep R=" bench-*.txt; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
