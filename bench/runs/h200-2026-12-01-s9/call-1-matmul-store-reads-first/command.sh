set -u
R=$OUT/raw; mkdir -p $R
node bench/experiments/matmul-variants/probe.mjs --before .work/mm-before.wgsl --tiles 128x128k16,128x64k16 --variants "before U,now U" --epilogues --out $R > $R/probe.log 2>&1
cd .work
for x in a e; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 60 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do for x in a e; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
for t in 1 2; do for x in a e; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
cd $R
{ grep -E "check|TFLOP|Error" probe.log; for f in a-1 e-1 a-2 e-2 gpt2-a-1 gpt2-e-1 gpt2-a-2 gpt2-e-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
