set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in a p; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-p; node bench.mjs attention-check --shape 64,128,4,64 --variant all > $R/check.txt 2>&1; node bench.mjs attention-check --shape 8,256,12,64 --variant all >> $R/check.txt 2>&1)
for x in a p; do (cd bench-$x; node bench.mjs attention-passes-tiles --shapes "64,128,4,64;8,128,4,64;64,256,12,64" --tiles "v4:16,16,16;v4:16,8,16;v4:16,16,32;v4:16,8,32;v4:8,16,16" --out $R/tiles-$x.json > $R/tiles-$x.txt 2>&1); done
for t in 1 2; do for x in a p; do (cd bench-$x; node bench.mjs $S $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
for t in 1 2; do for x in a p; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1); done; done
(cd bench-p; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-p.json > $R/breakdown-p.txt 2>&1)
cd $R
{ echo "== check"; grep -E "pass|FAIL|Error|tol" check.txt | head -30; for x in a p; do echo "== tiles $x"; grep -vE "^adapter" tiles-$x.txt | head -40; done
  for f in a-1 p-1 a-2 p-2 gpt2-a-1 gpt2-p-1 gpt2-a-2 gpt2-p-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== breakdown p"; grep -E "@0.005|FAILED|Error|sweep R=8  |attention|Attention" breakdown-p.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
