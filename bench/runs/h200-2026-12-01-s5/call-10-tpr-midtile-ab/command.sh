set -u
R=$OUT/raw; mkdir -p $R
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx --sweep-only --steps 60 --trials 5 --warmup 10 --rs 1,8,16"
for i in 1 2; do
 node bench.mjs $D --out $R/base-$i.json > $R/base-$i.txt 2>&1
 node bench.mjs $D --ln-sum-tpr 64 --out $R/tpr64-$i.json > $R/tpr64-$i.txt 2>&1
 node bench.mjs $D --matmul-mid-tile 128x64 --out $R/mid64-$i.json > $R/mid64-$i.txt 2>&1
 node bench.mjs $D --matmul-mid-tile k32 --out $R/midk32-$i.json > $R/midk32-$i.txt 2>&1
done
node bench.mjs --sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt --ln-sum-tpr 64 --out $R/gpt2-tpr64.json > $R/gpt2-tpr64.txt 2>&1
node bench.mjs --sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt --out $R/gpt2-base.json > $R/gpt2-base.txt 2>&1
cd $R
{ for f in base-1 tpr64-1 mid64-1 midk32-1 base-2 tpr64-2 mid64-2 midk32-2 gpt2-tpr64 gpt2-base; do echo "== $f"; grep "sweep R=" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*dispatches/disp/'; done; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
